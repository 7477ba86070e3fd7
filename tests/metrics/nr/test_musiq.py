"""MUSIQ: parity with pyiqa end to end from image files, per-image scores, weights and the CLI.

The released checkpoints are not offline: every test builds a seeded random state dict in the
released key layout (tests/models/test_musiq.py checks that layout key by key against pyiqa).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError, WeightsError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.models.musiq import MUSIQ, RELEASES
from tests.conftest import shared_path
from tests.helpers.random_weights import randomize


def _release_state(variant: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """A seeded random state dict in the released layout (the released sizes)."""
    return randomize(MUSIQ(variant), seed)  # type: ignore[arg-type]


def _net(variant: str, state: dict[str, torch.Tensor]) -> MUSIQ:
    net = MUSIQ(variant)  # type: ignore[arg-type]
    net.load_state_dict(state, strict=True)
    return net.eval()


def _crops(folder: Path, n: int = 2, size: tuple[int, int] = (64, 96)) -> list[Path]:
    """``n`` crops of a real photo (Set14 baboon), saved as PNG files: both sides read these files."""
    src = np.asarray(Image.open(shared_path("data", "images", "Set14") / "baboon.bmp").convert("RGB"))
    h, w = size
    folder.mkdir(exist_ok=True)
    files = []
    for i in range(n):
        files.append(folder / f"crop{i}.png")
        Image.fromarray(src[40 * i : 40 * i + h, 60 * i : 60 * i + w]).save(files[-1])
    return files


SMALL = {"hidden": 32, "mlp_dim": 64, "heads": 2, "layers": 1, "stem_width": 8}  # plumbing only, never parity


@pytest.mark.parametrize(("variant", "num_class", "n_files"), [("koniq", 1, 2), ("ava", 10, 1)])
@torch.no_grad()
def test_parity_with_pyiqa_from_image_files(tmp_path: Path, variant: str, num_class: int, n_files: int) -> None:
    # Reference: pyiqa's MUSIQ (the converted release's own code) loaded with the same random state dict;
    # each side reads the same PNG files (pyiqa with imread2tensor, as its create_metric does for a path)
    # and runs its own preprocessing. koniq stands for the three one-output heads (spaq, paq2piq: the
    # same network and readout, other weights); ava for the 10-bin head.
    pyiqa_musiq = pytest.importorskip("pyiqa.archs.musiq_arch")
    from pyiqa.utils.img_util import imread2tensor

    state = _release_state(variant)
    ref = pyiqa_musiq.MUSIQ(pretrained=False, num_class=num_class).eval()
    ref.load_state_dict(state, strict=True)
    files = _crops(tmp_path / "img", n=n_files)
    expected = ref(torch.stack([imread2tensor(str(f), rgb=True) for f in files])).flatten()  # pyiqa's batch

    m = iqa.create(f"musiq_{variant}", model=_net(variant, state))
    ours = m(torch.stack([read_image(f) for f in files]))
    # float32 through 14 blocks in another summation order (fused attention; pyiqa's padding tokens,
    # masked there, are not computed here): measured <= 1e-6 on these scores; 1e-4 leaves room across BLAS builds
    torch.testing.assert_close(ours, expected, atol=1e-4, rtol=1e-5)
    if n_files > 1:  # pyiqa scores equal-size images as one batch; ours, image by image, are the same
        torch.testing.assert_close(m(read_image(files[0])[None]), expected[:1], atol=1e-4, rtol=1e-5)
        assert (ours[0] - ours[1]).abs() > 1e-3  # the two crops score differently: the comparison can fail


@torch.no_grad()
def test_token_options_reach_the_tokens() -> None:
    # the cut itself is checked token by token against pyiqa in tests/models/test_musiq.py
    net = MUSIQ("spaq", **SMALL).eval()  # type: ignore[arg-type]
    x = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(4))
    every = iqa.create("musiq_spaq", model=net)(x)
    assert iqa.create("musiq_spaq", model=net, max_original_patches=12)(x) == every  # 3x4 patches: all of them
    assert (iqa.create("musiq_spaq", model=net, max_original_patches=3)(x) - every).abs() > 1e-6
    with pytest.raises(InputError, match="max_original_patches"):
        iqa.create("musiq_spaq", model=net, max_original_patches=-2)
    # the authors' TF Gaussian resize (checked against TensorFlow in tests/models/test_musiq.py) is an option
    assert (iqa.create("musiq_spaq", model=net, resize="gaussian")(x) - every).abs() > 1e-6


@torch.no_grad()
def test_ava_score_is_the_mean_rating_bin() -> None:
    # the AVA head is a softmax over 10 bins; the score is sum_i i p_i, inside [1, 10] whatever the weights
    net = MUSIQ("ava", **SMALL).eval()  # type: ignore[arg-type]
    x = torch.rand(2, 3, 40, 50, generator=torch.Generator().manual_seed(1))
    s = iqa.create("musiq_ava", model=net)(x)
    assert ((s >= 1) & (s <= 10)).all()
    net.head[0].bias.data = torch.tensor([0.0] * 6 + [80.0] + [0.0] * 3)  # all mass on bin 7
    torch.testing.assert_close(iqa.create("musiq_ava", model=net)(x), torch.full((2,), 7.0))


def test_variant_and_inputs_are_checked() -> None:
    with torch.device("meta"):
        spaq = MUSIQ("spaq")
    with pytest.raises(InputError, match="spaq head.*musiq_spaq"):
        iqa.create("musiq_koniq", model=spaq)
    assert iqa.get_spec("musiq").weights == ("musiq_koniq",) and iqa.get_spec("musiq_ava").value_range == (1.0, 10.0)


def test_missing_or_foreign_weights_are_clear_errors(tmp_path: Path) -> None:
    # offline (conftest sets IQA_OFFLINE): the error names the released file and the weights id
    with pytest.raises(WeightsNotFoundError, match="musiq_koniq_ckpt-e95806b9.pth"):
        iqa.create("musiq")
    with pytest.raises(WeightsNotFoundError, match="no such MUSIQ weights file"):
        iqa.create("musiq_spaq", weights=tmp_path / "absent.pth")
    bad = tmp_path / "bad.pth"
    torch.save({"head.weight": torch.zeros(1, 384)}, bad)
    with pytest.raises(WeightsError, match="not a MUSIQ spaq state dict in the released layout"):
        iqa.create("musiq_spaq", weights=bad)


def test_cli_scores_with_weights_in_iqa_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `iqa score D -m musiq_koniq -m musiq_ava` as a user runs it: musiq_koniq's file sits in
    # IQA_WEIGHTS_DIR under its released name; musiq_ava's is given with --opt musiq_ava.weights=FILE
    # (a file of one's own, loaded as given). A random file cannot carry the upstream sha256 prefix,
    # so the manifest entry is pointed at this file's hash: the store's verification itself is unchanged.
    import iqa.weights.store as store

    wdir = tmp_path / "weights"
    wdir.mkdir()
    koniq, ava = _release_state("koniq", 3), _release_state("ava", 4)
    torch.save(koniq, wdir / RELEASES["koniq"].filename)
    torch.save(ava, tmp_path / "my_ava.pth")
    real = store.get_weight_spec

    def spec_of(weight_id: str) -> object:
        spec = real(weight_id)
        if weight_id != "musiq_koniq":
            return spec
        return dataclasses.replace(spec, sha256_prefix=store.sha256_file(wdir / spec.filename)[:8])

    monkeypatch.setattr(store, "get_weight_spec", spec_of)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    files = _crops(tmp_path / "img", n=2, size=(48, 64))
    args = ["score", str(tmp_path / "img"), "-m", "musiq_koniq", "-m", "musiq_ava",
            "--opt", f"musiq_ava.weights={tmp_path / 'my_ava.pth'}", "-q"]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [Path(row["file"]).name for row in rows] == [f.name for f in files] and not any(row["error"] for row in rows)
    x = torch.stack([read_image(f) for f in files])
    with torch.no_grad():
        want = iqa.create("musiq_koniq", model=_net("koniq", koniq))(x)
    got = torch.tensor([float(row["musiq_koniq"]) for row in rows])
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-5)  # the CSV's printed digits
    ava_scores = torch.tensor([float(row["musiq_ava"]) for row in rows])
    assert ((ava_scores >= 1) & (ava_scores <= 10)).all()
