"""mad: equal to a float64 transcription of MAD_index_april_2010.m with loop ports of its mex files,
fed what MATLAB gives the script (rgb2gray of 8-bit images); the uint8 table lookup; float protocols."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iqa
from iqa.augment import distort
from iqa.metrics.fr.mad import luminance
from tests.oracles.mad_official import mad_index
from tests.oracles.matlab_rgb2gray import WEIGHTS, gray_levels


def _levels(t: torch.Tensor) -> np.ndarray:
    """double(rgb2gray(imread(file))) of an (3, H, W) image in [0, 1] from an 8-bit file (MATLAB oracle)."""
    return gray_levels(t.permute(1, 2, 0).numpy())


# Sizes where the last 16x16 block does and does not end at the border (the mex files' neighbour rule).
@pytest.mark.parametrize("size", [(64, 80), (67, 83), (65, 81)])
@pytest.mark.parametrize("kind", ["jpeg", "white_noise"])
def test_equals_mad_index_m(photos, size, kind) -> None:  # noqa: ANN001
    x = photos[:2, :, : size[0], : size[1]].double()
    y = distort(x, kind, level=3, seed=0)
    ours = iqa.create("mad")(y, x)
    for i in range(2):
        # 1e-10: the same float64 operations in another order (block sums, FFT sizes).
        assert ours[i].item() == pytest.approx(mad_index(_levels(x[i]), _levels(y[i])), abs=1e-10)


@pytest.mark.parametrize("gray", ["rgb2gray", "rgb2gray_rounded"])
def test_float_conversions_equal_the_double_image_branch(photos, gray: str) -> None:  # noqa: ANN001
    x = photos[:2, :, :64, :80].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("mad", gray=gray)(y, x)
    w = WEIGHTS if gray == "rgb2gray" else np.array([0.2989, 0.5870, 0.1140])
    for i in range(2):
        r, d = (t[i].permute(1, 2, 0).numpy() * 255 @ w for t in (x, y))  # unrounded grey levels
        assert ours[i].item() == pytest.approx(mad_index(r, d, uint8=False), abs=1e-10)
    # The protocol matters: the default (8-bit levels) is another number on the same pair.
    assert not torch.allclose(iqa.create("mad")(y, x), ours, rtol=1e-6)


def test_white_reads_level_254_as_the_uint8_lut(photos) -> None:  # noqa: ANN001
    # LUT(img + 1) on uint8: 255 + 1 saturates to 255, so white reads the table at level 254.
    levels = torch.tensor([0.0, 1.0, 128.0, 254.0, 255.0], dtype=torch.float64)
    expected = 0.02874 * torch.tensor([0.0, 1.0, 128.0, 254.0, 254.0], dtype=torch.float64) ** (2.2 / 3)
    assert torch.equal(luminance(levels, uint8=True), expected)
    assert luminance(levels, uint8=False)[-1] > expected[-1]
    # A brightened astronaut crop: 43 % of the reference and 33 % of its JPEG at 255 (measured).
    x = (photos[:1, :, :80, :96].double() * 1.6).clamp(0, 1)
    y = distort(x, "jpeg", level=2, seed=0)
    r, d = _levels(x[0]), _levels(y[0])
    assert (r == 255).mean() > 0.3 and (d == 255).mean() > 0.3
    official = mad_index(r, d)
    assert iqa.create("mad")(y, x).item() == pytest.approx(official, abs=1e-10)
    # Grey input: the same levels as a 1-channel image, off by less than half a level (uint8 rounds).
    g = torch.from_numpy(np.stack([r, d]))[:, None] / 255
    off = (torch.rand(g.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5) * 0.9 / 255
    grey = iqa.create("mad")((g[1:] + off[1:]).clamp(0, 1), (g[:1] + off[:1]).clamp(0, 1))
    assert grey.item() == pytest.approx(official, abs=1e-10)
    # Where it matters: without the saturation (255 read as 255) MAD is 12 % higher on this pair
    # (JPEG's 254/255 flicker in the clipped sky is no error at all through the saturated table).
    assert mad_index(r, d, uint8=False) > official * 1.05


def test_pyiqa_is_a_different_mad(photos) -> None:  # noqa: ANN001
    ma = pytest.importorskip("pyiqa.archs.mad_arch")
    x = photos[:2, :, :128, :128]
    y = distort(x, "jpeg", level=3, seed=0)
    theirs = ma.MAD()(y, x).flatten().double()
    ours = iqa.create("mad")(y, x).double()
    # pyiqa's port (from IQA-optimization, "official code not available") differs in its CSF,
    # block statistics and pooling; both rank these JPEG levels the same way (checked below).
    assert not torch.allclose(ours, theirs, rtol=1e-2)
    z = distort(x, "jpeg", level=5, seed=0)
    assert (iqa.create("mad")(z, x) > ours.float()).all() and (ma.MAD()(z, x).flatten() > theirs.float()).all()


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("mad")
    x = photos[:3, :, :96, :96]  # the rocket crop is flat sky: every block is masked, MAD is 0 at any blur
    assert torch.all(m(x, x) == 0)
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] > scores[:-1]).all()
