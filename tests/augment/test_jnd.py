"""JND maps (hand-computed values) and JNDMix (determinism, bounds, equal-energy comparison, banding)."""

from __future__ import annotations

import math

import pytest
import torch

import iqa
from iqa.augment import JNDMix, jnd_heatmap, jnd_map, jnd_noise
from iqa.errors import InputError
from iqa.io import read_image
from tests.conftest import shared_path


def flat(level: float, size: int = 32) -> torch.Tensor:
    return torch.full((1, 1, size, size), level / 255, dtype=torch.float64)


def test_flat_grey_values_computed_by_hand() -> None:
    # Spec 6.2 [CALC]: grey 127 -> bg 127, LA 3, CM -0.77, JND = 3 - 0.77 + 0.231 = 2.461.
    assert jnd_map(flat(127), "namm_chou")[0, 0, 16, 16].item() == pytest.approx(2.461, abs=1e-6)
    # Grey 100: LA = 17 (1 - sqrt(100/127)) (+3 for NAMM); flat, so Gm = 0: CM = 0.5 - 1.0 (NAMM), 0 (Wu).
    la = 17 * (1 - math.sqrt(100 / 127))
    namm = (la + 3) - 0.5 - 0.3 * -0.5
    assert jnd_map(flat(100), "namm_chou")[0, 0, 16, 16].item() == pytest.approx(namm, abs=1e-9)
    assert jnd_map(flat(100), "namm_yang")[0, 0, 16, 16].item() == pytest.approx(namm, abs=1e-9)  # no edges
    assert jnd_map(flat(100), "wu2017")[0, 0, 16, 16].item() == pytest.approx(la, abs=1e-9)


def test_borders_are_zero_padded_like_filter2() -> None:
    j = jnd_map(flat(127), "namm_chou")[0, 0]
    assert j[0, 0] != pytest.approx(2.461)  # bg is lower at the corner: MATLAB filter2 pads with zeros
    with pytest.raises(InputError, match="model must be one of"):
        jnd_map(flat(127), "yang")


def test_masking_raises_the_threshold_on_texture() -> None:
    g = torch.Generator().manual_seed(0)
    smooth, texture = flat(120), (flat(120) + 0.15 * (torch.rand(1, 1, 32, 32, generator=g, dtype=torch.float64) - 0.5))
    for m in ("namm_chou", "wu2017"):
        assert jnd_map(texture, m)[0, 0, 8:24, 8:24].mean() > jnd_map(smooth, m)[0, 0, 8:24, 8:24].mean()


def test_jndmix_contract() -> None:
    x = torch.rand(4, 3, 48, 40)
    assert torch.equal(JNDMix(p=0.0)(x), x)
    a = JNDMix(p=1.0, strength=1.0, generator=torch.Generator().manual_seed(3))(x)
    b = JNDMix(p=1.0, strength=1.0, generator=torch.Generator().manual_seed(3))(x)
    assert torch.equal(a, b) and a.dtype == x.dtype and a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    bound = jnd_map(x, "wu2017", padding="replicate") / 255
    assert ((a.double() - x.double()).abs() <= bound + 1e-6).all()  # never more than lambda * J
    assert JNDMix(p=1.0)(x[0]).shape == x[0].shape
    with pytest.raises(InputError, match="float RGB"):
        JNDMix()((x * 255).byte())
    with pytest.raises(InputError, match="p must be in"):
        JNDMix(p=2)


def test_equal_energy_jnd_noise_hurts_ssim_less_than_white_noise() -> None:
    root = shared_path("data", "images", "Set14")
    imgs = torch.stack(
        [read_image(root / f"{n}.bmp")[:, :240, :240] for n in ("baboon", "barbara", "monarch", "lenna")]
    ).double()
    noisy = (imgs + jnd_noise(imgs, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    energy = (noisy - imgs).pow(2).sum((1, 2, 3), keepdim=True)
    white = torch.randn(imgs.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    white_noisy = (imgs + white * (energy / white.pow(2).sum((1, 2, 3), keepdim=True)).sqrt()).clamp(0, 1)
    for name in ("ssim", "ms_ssim"):
        m = iqa.create(name)
        drop_jnd, drop_white = 1 - m(noisy.float(), imgs.float()), 1 - m(white_noisy.float(), imgs.float())
        assert (drop_jnd < 0.8 * drop_white).all(), f"{name}: JND {drop_jnd}, white {drop_white}"
        assert drop_jnd.mean() < 0.7 * drop_white.mean()


def test_no_banding_on_a_smooth_ramp() -> None:
    """Noise is i.i.d. per pixel: averaged down the columns of a ramp, the output follows the ramp."""
    ramp = torch.linspace(0.05, 0.95, 512).view(1, 1, 1, -1).expand(1, 3, 256, 512).contiguous()
    out = JNDMix(p=1.0, strength=1.0, generator=torch.Generator().manual_seed(0))(ramp)
    j = jnd_map(ramp, "wu2017", padding="replicate")[0, 0] / 255
    col_err = (out - ramp)[0].double().mean((0, 1))  # mean over channels and rows, per column
    expected_sd = j.pow(2).mean(0).sqrt() / math.sqrt(3 * 256)
    assert (col_err.abs() < 5 * expected_sd + 1e-7).all()


def test_heatmap() -> None:
    h = jnd_heatmap(torch.rand(3, 20, 30))
    assert h.shape == (3, 20, 30) and 0 <= h.min() and h.max() <= 1
