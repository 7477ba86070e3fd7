"""The distortion bank: monotone levels on real photos, determinism, dtype/range, strengths, chains."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

import iqa
from iqa.augment import (
    apply_chain,
    chain_label,
    describe,
    distort,
    distort_file,
    get_distortion,
    list_distortions,
    sample_chain,
)
from iqa.errors import InputError
from iqa.io import read_image
from tests.conftest import shared_path

SET14 = ("baboon", "barbara", "monarch", "lenna")  # texture, mixed, saturated colour, smooth


@pytest.fixture(scope="module")
def photos() -> torch.Tensor:
    root = shared_path("data", "images", "Set14")
    imgs = [read_image(root / f"{n}.bmp") for n in SET14]
    return torch.stack([im[:, :240, :240] for im in imgs])  # crops: enough content, fast


def test_the_25_kadid_types_in_7_families() -> None:
    names = list_distortions()
    assert len(names) == 25 and [get_distortion(n).kadid_id for n in names] == list(range(1, 26))
    fam = {d["family"] for d in describe()}
    assert fam == {"blur", "color", "compression", "noise", "brightness", "spatial", "sharpness_contrast"}
    assert get_distortion(10).name == "jpeg" and get_distortion("jpeg2000").family == "compression"


@pytest.mark.parametrize("name", list_distortions())
def test_levels_degrade_monotonically(name: str, photos: torch.Tensor) -> None:
    """Level 1..5 strictly lowers PSNR or SSIM (whichever sees the type) on each of 4 Set14 photos."""
    psnr, ssim = iqa.create("psnr"), iqa.create("ssim")
    outs = [distort(photos, name, level=k, seed=3) for k in range(1, 6)]
    p = torch.stack([psnr(o, photos) for o in outs], 1)  # (images, levels)
    s = torch.stack([ssim(o, photos) for o in outs], 1)
    per_image = [(p[i, 1:] < p[i, :-1]).all().item() or (s[i, 1:] < s[i, :-1]).all().item() for i in range(len(photos))]
    assert all(per_image), f"{name}: PSNR {p.numpy().round(2)}; SSIM {s.numpy().round(3)}"


@pytest.mark.parametrize("name", list_distortions())
def test_deterministic_dtype_and_range(name: str, photos: torch.Tensor) -> None:
    x = photos[:2]
    a, b = distort(x, name, level=3, seed=7), distort(x, name, level=3, seed=7)
    assert torch.equal(a, b) and a.dtype == torch.float32 and a.shape == x.shape
    assert a.min() >= 0 and a.max() <= 1
    u8 = (x * 255).round().to(torch.uint8)
    c = distort(u8[0], name, level=3, seed=7)
    assert c.dtype == torch.uint8 and c.shape == u8[0].shape
    d = distort(x.double(), name, level=3, seed=7)
    assert d.dtype == torch.float64


def test_an_image_does_not_depend_on_its_batch_mates(photos: torch.Tensor) -> None:
    a = distort(torch.stack([photos[0], photos[1]]), "white_noise", level=4, seed=1)
    b = distort(torch.stack([photos[2], photos[1]]), "white_noise", level=4, seed=1)
    assert torch.equal(a[1], b[1])
    assert not torch.equal(
        distort(photos[:1], "white_noise", level=4, seed=2), distort(photos[:1], "white_noise", level=4, seed=1)
    )


def test_continuous_strength(photos: torch.Tensor) -> None:
    x = photos[:1]
    assert torch.equal(distort(x, "gaussian_blur", strength=0.6, seed=0), distort(x, "gaussian_blur", level=3, seed=0))
    assert torch.equal(distort(x, "jpeg", strength=0.0), x)
    psnr = iqa.create("psnr")
    vals = [psnr(distort(x, "gaussian_blur", strength=s), x).item() for s in (0.4, 0.5, 0.6)]
    assert vals[0] > vals[1] > vals[2]  # between levels 2 and 3
    assert get_distortion("jpeg2000").parameter(0.5) == pytest.approx(np.sqrt(32 * 45))  # log interpolation


def test_bad_arguments_are_explained(photos: torch.Tensor) -> None:
    with pytest.raises(InputError, match="Did you mean 'gaussian_blur'"):
        distort(photos, "gausian_blur", level=1)
    with pytest.raises(InputError, match="exactly one of level"):
        distort(photos, "jpeg", level=1, strength=0.2)
    with pytest.raises(InputError, match="level must be"):
        distort(photos, "jpeg", level=6)
    with pytest.raises(InputError, match="RGB tensor"):
        distort(photos[:, :1], "jpeg", level=1)


def test_files(tmp_path: Path, photos: torch.Tensor) -> None:
    src = tmp_path / "a.png"
    from PIL import Image

    Image.fromarray((photos[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)).save(src)
    out = distort_file(src, tmp_path / "b.png", "jpeg", level=5, seed=0)
    y = read_image(out)
    assert y.shape == photos[0].shape and not torch.equal(y, read_image(src))


def test_chains(photos: torch.Tensor) -> None:
    c1, c2 = sample_chain(5, max_ops=4), sample_chain(5, max_ops=4)
    assert c1 == c2 and 1 <= len(c1) <= 4
    fams = [get_distortion(s.name).family for s in sample_chain(np.random.default_rng(0), min_ops=4, max_ops=4)]
    assert len(set(fams)) == 4  # one per family
    chain = sample_chain(3, min_ops=2, max_ops=2)
    y = apply_chain(photos[:1], chain, seed=1)
    step1 = distort(photos[:1], chain[0].name, strength=chain[0].strength, seed=31)
    assert torch.equal(y, distort(step1, chain[1].name, strength=chain[1].strength, seed=32))
    label = chain_label(chain)
    assert label.shape == (126,) and label.sum() == 2 and chain_label([])[-1] == 1


def test_distortions_use_the_shared_registry() -> None:
    from iqa.augment._core import DISTORTIONS, register
    from iqa.errors import DuplicateNameError

    assert len(DISTORTIONS) == 25 and list_distortions()[0] == DISTORTIONS.get("gaussian_blur").name
    assert get_distortion("JPEG") is get_distortion("jpeg") is get_distortion(10)
    with pytest.raises(DuplicateNameError):
        register(replace(get_distortion("jpeg"), summary="another jpeg"))
