"""MANIQA: parity with pyiqa end to end from an image file, the two crop protocols, weights and the CLI.

The released checkpoints are not offline: the parity test loads one seeded random state dict in the
released layout (tests/models/test_maniqa.py lists it key by key) into our network and pyiqa's.
ViT-B/8 costs ~80 GFLOP per 224 px crop, so the released-size tests score one crop per image; the
protocols (crop positions, pooling over 20 crops) are checked on a reduced-size network.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError, WeightsNotFoundError
from iqa.io.images import read_image
from iqa.metrics.nr.maniqa import grid_corners, maniqa, random_corners
from iqa.models.maniqa import MANIQA, MANIQAConfig, _relative_position_index, _shift_mask
from tests.conftest import shared_path
from tests.models.test_maniqa import pyiqa_maniqa


def _crop_file(folder: Path, name: str, top: int, left: int, size: tuple[int, int]) -> Path:
    """A crop of a real photo (Set14 comic) saved as PNG: both sides read this file."""
    src = np.asarray(Image.open(shared_path("data", "images", "Set14") / "comic.bmp").convert("RGB"))
    folder.mkdir(exist_ok=True)
    path = folder / name
    Image.fromarray(src[top : top + size[0], left : left + size[1]]).save(path)
    return path


def _small(seed: int = 0) -> MANIQA:
    """The release's layers at a reduced size (64 px crops, width 64), seeded: for protocol tests."""
    torch.manual_seed(seed)
    cfg = MANIQAConfig(img_size=64, vit_dim=64, vit_depth=10, vit_heads=2, swin_heads=(2, 2), dim_mlp=64)
    return MANIQA(None, cfg).eval()


@torch.no_grad()
def test_parity_with_pyiqa_from_an_image_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Reference: pyiqa's MANIQA (maniqa_arch.py, the code behind pyiqa's published numbers), KonIQ
    # configuration (Swin scale 0.8), loaded with the same seeded random state dict as ours; each side
    # reads the same PNG with its own reader and runs its own preprocessing. The image is 200x240, so
    # both enlarge it (shorter side <= 224) before cropping: one crop each (test_sample=1 /
    # num_crops=1; the 20-crop grid is checked against pyiqa's uniform_crop below).
    # Tolerance 1e-5: float32 rounding of different op orders (fused attention, a ViT stopped at block 9).
    from pyiqa.utils.img_util import imread2tensor

    ref = pyiqa_maniqa(monkeypatch, train_dataset="koniq", scale=0.8, test_sample=1)
    with torch.device("meta"):  # no 136M-parameter random init: every tensor is assigned below
        ours = MANIQA("koniq")
    g = torch.Generator().manual_seed(0)
    # floats seeded random (LayerNorm scales 1); the index and shift-mask buffers as pyiqa builds them
    state = {
        k: v if not v.is_floating_point() or k.endswith("attn_mask") else 0.02 * torch.randn(v.shape, generator=g)
        for k, v in ref.state_dict().items()
    }
    state |= {k: torch.ones_like(v) for k, v in state.items() if "norm" in k and k.endswith("weight")}
    state["fc_score.3.bias"] = torch.tensor([0.5])  # keeps the ReLU score head open: a zero score would prove nothing
    ours.load_state_dict(state, assign=True)
    ref.load_state_dict(state, assign=True)
    ours.eval(), ref.eval()

    path = _crop_file(tmp_path, "a.png", 30, 40, (200, 240))
    want = ref(imread2tensor(str(path), rgb=True)[None]).view(1)
    got = iqa.create("maniqa_koniq", model=ours, num_crops=1)(read_image(path)[None])
    assert float(want) > 0.4  # the head's bias plus what the network adds
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("size", [(300, 420), (180, 250)])
def test_grid_crops_are_pyiqas_uniform_crops(size: tuple[int, int]) -> None:
    # Reference: pyiqa's arch_util.uniform_crop (its eval-mode crops, 20 per image): our corners,
    # cut from the image as our pipeline enlarges it, give the same 20 crops exactly; the second
    # size takes the enlarging branch (shorter side <= 224, bilinear by 225 / 180).
    arch_util = pytest.importorskip("pyiqa.archs.arch_util")
    from iqa.metrics.nr.maniqa import _enlarge_small

    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    want = arch_util.uniform_crop(x, crop_size=224, crop_num=20)
    y = _enlarge_small(x, 224)
    got = torch.stack([y[..., t : t + 224, u : u + 224] for t, u in grid_corners(*y.shape[-2:], 224, 20)], 1)
    assert torch.equal(got.flatten(0, 1), want)


def test_random_crops_are_the_authors_draws() -> None:
    # Reference: IIGROUP/MANIQA predict_one_image.py: setup_seed(20) seeds numpy's global generator,
    # then per crop top = randint(0, h - 224), left = randint(0, w - 224).
    np.random.seed(20)
    want = [(np.random.randint(0, 300 - 224), np.random.randint(0, 400 - 224)) for _ in range(20)]
    assert random_corners(300, 400, 224, 20, seed=20) == want
    assert random_corners(300, 400, 224, 20, seed=21) != want


@torch.no_grad()
def test_pooling_of_each_protocol() -> None:
    # grid: one weighted mean over all patches of all crops (pyiqa's forward reshapes the crops'
    # patch scores to (N, K * P)); random: each crop's weighted mean, then the mean over crops (the
    # authors' forward + predict_one_image.py). Computed here from the network's patch outputs.
    net = _small()
    x = torch.rand(1, 3, 80, 100, generator=torch.Generator().manual_seed(1))
    z = (x - 0.5) / 0.5
    for crops, corners in (("grid", grid_corners(80, 100, 64, 20)), ("random", random_corners(80, 100, 64, 20, 20))):
        s, w = net(torch.cat([z[..., t : t + 64, u : u + 64] for t, u in corners]))
        want = (s * w).sum() / (w.sum() + 1e-8) if crops == "grid" else ((s * w).sum(1) / w.sum(1)).mean()
        got = maniqa(x, model=net, crops=crops)  # type: ignore[arg-type]
        torch.testing.assert_close(got, want.view(1), atol=1e-6, rtol=1e-6)  # float32 sums in another order


@torch.no_grad()
def test_random_crops_do_not_depend_on_the_batch() -> None:
    # seeded per image: an image alone and in a batch gets the same crops; another seed other crops
    net, x = _small(), torch.rand(3, 3, 96, 120, generator=torch.Generator().manual_seed(2))
    m = iqa.create("maniqa_pipal", model=net, crops="random")
    whole = m(x)
    torch.testing.assert_close(torch.cat([m(x[i : i + 1]) for i in range(3)]), whole, atol=1e-6, rtol=1e-6)
    assert not torch.allclose(iqa.create("maniqa_pipal", model=net, crops="random", seed=0)(x), whole)


def test_variant_and_missing_weights_are_clear_errors(tmp_path: Path) -> None:
    # offline (conftest sets IQA_OFFLINE): the error names the released file and how to fetch it
    with pytest.raises(WeightsNotFoundError, match="ckpt_kadid10k.pt"):
        iqa.create("maniqa_kadid")
    with pytest.raises(WeightsNotFoundError, match="MANIQA_PIPAL-ae6d356b.pth"):
        iqa.create("maniqa_pipal")
    with torch.device("meta"):
        kadid = MANIQA("kadid")
    with pytest.raises(InputError, match="kadid release.*maniqa_kadid"):
        iqa.create("maniqa", model=kadid)
    assert iqa.get_spec("maniqa").weights == ("maniqa_koniq",)


def _compact_release_file(path: Path, score: float) -> None:
    """A checkpoint in the released layout (every key and shape) whose tensors are overlapping views of
    one small random storage (a few MB on disk instead of 540 MB); the last score layer is 0 with bias
    ``score``, so every patch scores ``score`` and so does every image, whatever the rest computes."""
    with torch.device("meta"):
        layout = MANIQA("koniq").state_dict()
    base = torch.randn(1 << 16, generator=torch.Generator().manual_seed(0)) * 0.02
    state = {k: base.as_strided(v.shape, (1,) * v.dim(), 7 * i) for i, (k, v) in enumerate(layout.items())}
    for k in layout:  # the buffers as the network builds them: index into the bias table, shift mask
        if k.endswith("relative_position_index"):
            state[k] = _relative_position_index(4)
        elif k.endswith("attn_mask"):
            state[k] = _shift_mask(28, 28, 4, 2)
    state["fc_score.3.weight"], state["fc_score.3.bias"] = torch.zeros(1, 384), torch.tensor([score])
    torch.save(state, path)


def test_cli_scores_with_weights_in_iqa_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `iqa score D -m maniqa_koniq` as a user runs it: the file sits in IQA_WEIGHTS_DIR under its
    # released name (upstream publishes no hash: the store records it on first use). One crop per
    # image keeps it to two ViT-B/8 forwards; the score head is constant (see _compact_release_file),
    # so the printed scores are known: 0.625 for both images.
    wdir = tmp_path / "weights"
    wdir.mkdir()
    _compact_release_file(wdir / "ckpt_koniq10k.pt", 0.625)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    _crop_file(tmp_path / "img", "a.png", 0, 0, (64, 96))
    _crop_file(tmp_path / "img", "b.png", 100, 50, (80, 72))
    args = ["score", str(tmp_path / "img"), "-m", "maniqa_koniq", "--opt", "maniqa_koniq.num_crops=1", "-q"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [(row["file"], float(row["maniqa_koniq"])) for row in rows] == [("a.png", 0.625), ("b.png", 0.625)]
    assert (wdir / "ckpt_koniq10k.pt.sha256").is_file()  # no published hash: the digest was recorded on first use


def test_cli_scores_musiq_koniq_and_maniqa_koniq_in_one_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 21's command, `iqa score D -m musiq_koniq -m maniqa_koniq`, with both released files in
    IQA_WEIGHTS_DIR under their released names. MUSIQ's manifest entry carries the upstream hash prefix,
    which a random file cannot match, so it is pointed at this file's hash (the store's check is unchanged);
    MANIQA publishes none (its digest is recorded on first use)."""
    import dataclasses

    import iqa.weights.store as store
    from iqa.models.musiq import RELEASES as MUSIQ_RELEASES
    from tests.metrics.nr.test_musiq import _net, _release_state

    wdir = tmp_path / "weights"
    wdir.mkdir()
    _compact_release_file(wdir / "ckpt_koniq10k.pt", 0.625)
    musiq_state = _release_state("koniq", 5)
    torch.save(musiq_state, wdir / MUSIQ_RELEASES["koniq"].filename)
    real = store.get_weight_spec

    def spec_of(weight_id: str) -> object:
        spec = real(weight_id)
        if weight_id != "musiq_koniq":
            return spec
        return dataclasses.replace(spec, sha256_prefix=store.sha256_file(wdir / spec.filename)[:8])

    monkeypatch.setattr(store, "get_weight_spec", spec_of)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    _crop_file(tmp_path / "img", "a.png", 0, 0, (64, 96))
    _crop_file(tmp_path / "img", "b.png", 100, 50, (80, 72))
    args = ["score", str(tmp_path / "img"), "-m", "musiq_koniq", "-m", "maniqa_koniq",
            "--opt", "maniqa_koniq.num_crops=1", "-q"]  # fmt: skip
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [(row["file"], row["error"]) for row in rows] == [("a.png", ""), ("b.png", "")]
    # the constant head's value, as float32 arithmetic prints it
    assert [float(row["maniqa_koniq"]) for row in rows] == pytest.approx([0.625, 0.625], abs=1e-6)
    x = [read_image(tmp_path / "img" / row["file"])[None] for row in rows]
    with torch.no_grad():
        want = torch.cat([iqa.create("musiq_koniq", model=_net("koniq", musiq_state))(xi) for xi in x])
    got = torch.tensor([float(row["musiq_koniq"]) for row in rows])
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-5)  # the CSV's printed digits
