"""TOPIQ-IAA (AVA; Swin-B ``topiq_iaa`` and ResNet-50 ``topiq_iaa_res50``): parity with pyiqa end to end from
an image file, the 1-10 readout, ``iqa score`` with the Swin release in IQA_WEIGHTS_DIR.

The released checkpoints are not offline: the tests build seeded random state dicts in the released key
layouts (tests/models/test_topiq.py checks those layouts key by key against pyiqa). The Swin-B network
costs ~47 GFLOP per image (any input is resized to 384 x 384): its tests score one image per forward.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.metrics.nr.topiq_iaa import topiq_iaa
from tests.models.test_topiq import net_with, photo_files, pyiqa_metric, release_state

SWIN_FILE = "cfanet_iaa_ava_swin-393b41b4.pth"  # the release's name (manifest id cfanet_iaa_ava_swin)


@dataclasses.dataclass(frozen=True)
class SwinRelease:
    file: Path  # a random checkpoint in the released layout ({"params": state}), under the release's name
    state: dict[str, torch.Tensor]  # the state dict as loaded from it (float32)
    image: Path  # the image scored (a 96 x 128 photo crop: not square, so the 384 x 384 resize changes aspect)
    score: torch.Tensor  # iqa's topiq_iaa score of ``image`` with ``file`` given as weights=


@pytest.fixture(scope="module")
def swin_release(tmp_path_factory: pytest.TempPathFactory) -> SwinRelease:
    """One Swin-B checkpoint for the module: saved in float16 (the full float32 file is ~500 MB; the loader
    casts to the network's float32 as it would a released file), and iqa's score of one photo with it."""
    tmp = tmp_path_factory.mktemp("topiq_iaa_swin")
    (tmp / "weights").mkdir()
    half = {k: v.half() if v.is_floating_point() else v for k, v in release_state("iaa_ava_swin").items()}
    torch.save({"params": half}, tmp / "weights" / SWIN_FILE)
    state = {k: v.float() if v.is_floating_point() else v for k, v in half.items()}
    image = photo_files(tmp / "img")[0]
    with torch.no_grad():
        score = iqa.create("topiq_iaa", weights=tmp / "weights" / SWIN_FILE)(read_image(image)[None])
    return SwinRelease(tmp / "weights" / SWIN_FILE, state, image, score)


@torch.no_grad()
def test_parity_with_pyiqa_from_an_image_file(tmp_path: Path) -> None:
    # Reference: pyiqa's CFANet with its topiq_iaa_res50 settings (shorter side to 384, 10 bins, the mean
    # rating) and the same random state dict; each side reads the same PNG files.
    state = release_state("iaa_ava_res50")
    ref = pyiqa_metric("topiq_iaa_res50", state)
    files = photo_files(tmp_path)
    expected = torch.cat([ref(str(f)).flatten() for f in files])
    ours = iqa.create("topiq_iaa_res50", model=net_with("iaa_ava_res50", state))(
        torch.stack([read_image(f) for f in files])
    )
    # float32 through ResNet-50 and 10 attention blocks, then a softmax mean on 1..10: measured <= 1e-6
    # on these scores; 1e-5 leaves room across BLAS builds
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    assert ((ours > 1) & (ours < 10)).all() and (ours[0] - ours[1]).abs() > 1e-4  # the comparison can fail


@torch.no_grad()
def test_swin_parity_with_pyiqa_from_an_image_file(swin_release: SwinRelease) -> None:
    # Reference: pyiqa's CFANet with its topiq_iaa settings (Swin-B trunk, every image resized to 384 x 384,
    # 10 bins, the mean rating) loaded with the state dict iqa read from the file; each side reads the PNG.
    expected = pyiqa_metric("topiq_iaa", swin_release.state)(str(swin_release.image)).flatten()
    # float32 through 24 Swin blocks (iqa: fused scaled_dot_product_attention; pyiqa: explicit softmax) and
    # 10 attention blocks, then a softmax mean on 1..10: measured <= 2e-6; 5e-5 leaves room across CPU kernels
    torch.testing.assert_close(swin_release.score, expected, atol=5e-5, rtol=0)
    # the comparison can fail: not the uniform distribution's 5.5, inside the open range
    assert 1 < swin_release.score.item() < 10 and abs(swin_release.score.item() - 5.5) > 1e-3


def test_cli_scores_with_the_swin_release_in_iqa_weights_dir(
    swin_release: SwinRelease, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `iqa score D -m topiq_iaa` as a user runs it: the file sits in IQA_WEIGHTS_DIR under its released name.
    # A random file cannot carry the upstream sha256 prefix, so the manifest entry is pointed at this file's
    # hash: the store's lookup and verification themselves are unchanged.
    import iqa.weights.store as store

    real = store.get_weight_spec
    spec = real("cfanet_iaa_ava_swin")
    assert spec.filename == SWIN_FILE
    digest = store.sha256_file(swin_release.file)
    monkeypatch.setattr(store, "get_weight_spec", lambda i: dataclasses.replace(spec, sha256_prefix=digest[:8]) if i == spec.id else real(i))  # fmt: skip
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(swin_release.file.parent))
    (tmp_path / "img").mkdir()
    shutil.copy(swin_release.image, tmp_path / "img" / "photo.png")
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "-m", "topiq_iaa", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.output.strip().splitlines()))
    assert len(rows) == 1 and not rows[0]["error"] and Path(rows[0]["file"]).name == "photo.png"
    # the same network and image as the fixture's iqa.create(...) score: equal to the CSV's digits
    assert float(rows[0]["topiq_iaa"]) == pytest.approx(swin_release.score.item(), abs=1e-4)


def test_only_the_aesthetics_network_is_accepted() -> None:
    with pytest.raises(InputError, match="needs the aesthetics"):
        topiq_iaa(torch.rand(1, 3, 64, 64), model=net_with("nr_koniq", release_state("nr_koniq")))
    with pytest.raises(InputError, match="the given model is TOPIQ iaa_ava_res50, this metric needs iaa_ava_swin"):
        iqa.create("topiq_iaa", model=net_with("iaa_ava_res50", release_state("iaa_ava_res50")))


def test_missing_swin_release_names_the_file() -> None:
    # offline (conftest sets IQA_OFFLINE): the weights manager's error names the released file and the fetch command
    with pytest.raises(WeightsNotFoundError, match=r"cfanet_iaa_ava_swin-393b41b4\.pth(.|\n)*iqa weights fetch"):
        iqa.create("topiq_iaa")
