"""iw_ssim: equal to a float64 transcription of iwssim.m (pyramid from pyrtools) fed MATLAB rgb2gray output;
piq compared; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import iqa
from iqa.augment import distort
from iqa.metrics.fr.iw_ssim import laplacian_pyramid
from tests.oracles.iwssim_official import iwssim
from tests.oracles.matlab_rgb2gray import gray_levels

ROUNDED = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float64).view(1, 3, 1, 1)  # iqa 0.1's conversion


def matlab_grey(x: torch.Tensor) -> np.ndarray:
    """double(rgb2gray(imread(file))) for one (3, H, W) image in [0, 1]: the script's input."""
    return gray_levels(x.permute(1, 2, 0).numpy())


def test_pyramid_equals_pyrtools_buildlpyr() -> None:
    pt = pytest.importorskip("pyrtools")
    im = np.random.default_rng(0).random((197, 230)) * 255
    ours = laplacian_pyramid(torch.from_numpy(im)[None, None])
    theirs = pt.pyramids.LaplacianPyramid(im, height=5, edge_type="reflect1").pyr_coeffs
    for s, band in enumerate(ours):
        assert np.abs(band[0, 0].numpy() - theirs[(s, 0)]).max() < 1e-10


@pytest.mark.parametrize("size", [(256, 256), (181, 203)])  # odd sides: uneven pyramid levels
def test_equals_iwssim_m_on_matlab_rgb2gray(photos, size) -> None:  # noqa: ANN001
    # Default protocol: RGB in, the oracle fed MATLAB's uint8 rgb2gray levels (the bilinear resize
    # leaves 8-bit levels; both sides round it back, as a file would). 1e-10: float64 on both sides
    # (measured: at most 5e-16 here).
    pytest.importorskip("pyrtools")
    x = (
        F.interpolate(photos[:2].double(), size=size, mode="bilinear", align_corners=False)
        if size != (256, 256)
        else photos[:2].double()
    )
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("iw_ssim")(y, x)
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(iwssim(matlab_grey(x[i]), matlab_grey(y[i])), abs=1e-10)


def test_rounded_option_keeps_the_unrounded_conversion(photos) -> None:  # noqa: ANN001
    # gray="rgb2gray_rounded" is iqa 0.1's conversion (0.2989/0.5870/0.1140 on float data, no rounding).
    pytest.importorskip("pyrtools")
    x = photos[:2].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("iw_ssim", gray="rgb2gray_rounded")(y, x)
    gx, gy = (x * ROUNDED).sum(1) * 255, (y * ROUNDED).sum(1) * 255
    for i in range(len(x)):
        theirs = iwssim(gx[i].numpy(), gy[i].numpy())
        assert ours[i].item() == pytest.approx(theirs, abs=1e-10)
        # The protocols differ by far more than the tolerance here (5.9e-5 and 7.5e-5, measured).
        assert abs(theirs - iwssim(matlab_grey(x[i]), matlab_grey(y[i]))) > 1e-6


def test_piq_on_grey(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :1].double()
    y = distort(photos, "gaussian_blur", level=2)[:, :1].double()
    ours, theirs = iqa.create("iw_ssim")(y, x), piq.information_weighted_ssim(y, x, data_range=1.0, reduction="none")
    assert torch.allclose(ours, theirs, rtol=1e-10), (
        ours,
        theirs,
    )  # piq ports the same script; RGB differs by its YIQ luma


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("iw_ssim")
    x = photos
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    scores = torch.stack([m(distort(x, "white_noise", level=k, seed=1), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()


@pytest.mark.parametrize("gray", ["rgb2gray_uint8", "rgb2gray", "rgb2gray_rounded"])
def test_identical_float32_images_give_exactly_one(photos, gray: str) -> None:  # noqa: ANN001
    # Pooled as a ratio of two float32 sums, coffee.png gave 1.0000001 (rgb2gray_uint8), above the
    # declared maximum of 1; with cs exactly 1 the pooled deficit is exactly 0.
    out = iqa.create("iw_ssim", gray=gray)(photos, photos)
    assert out.dtype == torch.float32 and (out == 1).all(), out.tolist()


def test_flat_images_give_nan_not_an_exception() -> None:
    # A piecewise-constant image makes the neighbourhood covariance singular (MATLAB's inv warns and
    # returns Inf, the script ends in NaN); torch's inv raised here. Now: the script's NaN.
    steps = torch.full((1, 3, 256, 256), 0.5)
    steps[..., :128, :] = 0.2
    assert torch.isnan(iqa.create("iw_ssim")(steps, steps)).all()
