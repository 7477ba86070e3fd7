"""cw_ssim: the pyramid equals pyrtools' buildSCFpyr; the score equals a transcription of cwssim_index.m fed
MATLAB rgb2gray output, in the authors' example call and the published-table protocol (4 levels, 8 orientations)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iqa
from iqa.augment import distort
from iqa.transforms.pyramids import scf_bands
from tests.oracles.cwssim_official import cwssim_index
from tests.oracles.matlab_rgb2gray import gray_levels

ROUNDED = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float64).view(1, 3, 1, 1)  # iqa 0.1's conversion


def matlab_grey(x: torch.Tensor) -> np.ndarray:
    """double(rgb2gray(imread(file))) for one (3, H, W) image in [0, 1]: the script's input."""
    return gray_levels(x.permute(1, 2, 0).numpy())


def test_bands_equal_pyrtools_scf_pyramid() -> None:
    pt = pytest.importorskip("pyrtools")
    im = np.random.default_rng(0).random((128, 160)) * 255
    for level, ori in ((1, 4), (3, 8), (4, 16)):
        theirs = pt.pyramids.SteerablePyramidFreq(im, height=level, order=ori - 1, is_complex=True).pyr_coeffs
        ours = scf_bands(torch.from_numpy(im)[None, None], level, ori)[0]
        for b in range(ori):
            assert np.abs(ours[b].numpy() - theirs[(level - 1, b)]).max() < 1e-9


@pytest.mark.parametrize(
    ("level", "ori", "guardb", "k"),
    [
        pytest.param(6, 16, 0, 0.0, id="example_call"),  # the default: cwssim_index(img1, img2, 6, 16, 0, 0)
        pytest.param(4, 8, 0, 0.0, id="published_tables"),  # the documented protocol: level=4, orientations=8
        pytest.param(3, 8, 8, 0.01, id="guardb_and_k"),
    ],
)
def test_equals_cwssim_index_m_on_matlab_rgb2gray(photos, level, ori, guardb, k) -> None:  # noqa: ANN001
    # RGB in (default gray), the oracle fed MATLAB's uint8 rgb2gray levels. 1e-10: float64 FFTs on both
    # sides (measured: at most 2e-16 here).
    pytest.importorskip("pyrtools")
    x = photos[:2].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("cw_ssim", level=level, orientations=ori, guardb=guardb, k=k)(y, x)
    for i in range(2):
        theirs = cwssim_index(matlab_grey(x[i]), matlab_grey(y[i]), level, ori, guardb, k)
        assert ours[i].item() == pytest.approx(theirs, abs=1e-10)


def test_rounded_option_keeps_the_unrounded_conversion(photos) -> None:  # noqa: ANN001
    # gray="rgb2gray_rounded" is iqa 0.1's conversion (0.2989/0.5870/0.1140 on float data, no rounding).
    pytest.importorskip("pyrtools")
    x = photos[:2].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("cw_ssim", level=4, orientations=8, gray="rgb2gray_rounded")(y, x)
    gx, gy = (x * ROUNDED).sum(1) * 255, (y * ROUNDED).sum(1) * 255
    for i in range(2):
        theirs = cwssim_index(gx[i].numpy(), gy[i].numpy(), 4, 8, 0, 0.0)
        assert ours[i].item() == pytest.approx(theirs, abs=1e-10)
        # The protocols differ by far more than the tolerance here (6.4e-5 and 9.2e-5, measured).
        assert abs(theirs - cwssim_index(matlab_grey(x[i]), matlab_grey(y[i]), 4, 8, 0, 0.0)) > 1e-6


def test_small_shifts_barely_matter(photos) -> None:  # noqa: ANN001
    x = photos.double()
    shifted = torch.roll(x, shifts=(1, 1), dims=(-2, -1))
    cw, ss = iqa.create("cw_ssim", level=4, orientations=8), iqa.create("ssim")
    # A one-pixel shift costs SSIM 16-45 % on these photos, CW-SSIM (4 levels) 0.3 % (measured).
    assert (1 - cw(shifted, x) < 0.01).all()
    assert (1 - ss(shifted, x) > 0.15).all()


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("cw_ssim")
    x = photos
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()
    with pytest.raises(iqa.errors.InputError, match="at least"):
        iqa.create("cw_ssim", level=6)(x[:, :, :200, :200], x[:, :, :200, :200])
    assert iqa.create("cw_ssim", level=4)(x[:, :, :100, :100], x[:, :, :100, :100]).shape == (4,)
