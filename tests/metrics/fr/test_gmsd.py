"""gmsd: equal to a float64 transcription of GMSD.m; piq's variant explained; properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import iqa
from iqa.augment import distort
from tests.oracles.matlab_gmsd import gmsd as matlab_gmsd
from tests.oracles.matlab_rgb2gray import WEIGHTS, gray_levels

ROUNDED = np.array([0.2989, 0.5870, 0.1140])  # rgb2gray's weights as its documentation quotes them


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy()


@pytest.mark.parametrize("size", [(96, 128), (97, 131)])  # even and odd: MATLAB's zero-padded last block
def test_equals_gmsd_m(photos, size) -> None:  # noqa: ANN001
    x = photos[:, :, : size[0], : size[1]].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("gmsd")(y, x)
    for i in range(len(x)):  # GMSD.m on double(rgb2gray(imread(...))) of the same 8-bit files
        expected = matlab_gmsd(gray_levels(_hwc(y[i])), gray_levels(_hwc(x[i])))
        assert ours[i].item() == pytest.approx(expected, abs=1e-10)


def test_matlab_rounding_matters_on_near_lossless_pairs(photos) -> None:  # noqa: ANN001
    """One grey level of difference here and there: the unrounded conversions give other numbers."""
    x = photos[:, :, :96, :128].double()
    y = distort(x, "jpeg", level=1, seed=0)  # the mildest JPEG of the bank
    exact = torch.tensor([matlab_gmsd(gray_levels(_hwc(y[i])), gray_levels(_hwc(x[i]))) for i in range(len(x))])
    ours = iqa.create("gmsd")(y, x)
    assert torch.allclose(ours, exact.to(ours), atol=1e-10)
    for other, w in (("rgb2gray", WEIGHTS), ("rgb2gray_rounded", ROUNDED)):  # float data, no rounding
        m = iqa.create("gmsd", gray=other)
        for i in range(len(x)):
            expected = matlab_gmsd(_hwc(y[i]) * 255 @ w, _hwc(x[i]) * 255 @ w)
            assert m(y[i : i + 1], x[i : i + 1]).item() == pytest.approx(expected, abs=1e-10)
        assert (m(y, x) - ours).abs().max() > 1e-4  # the rounding is not negligible on such pairs


def test_piq_uses_the_population_std(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, :96, :128].double()
    y = distort(x, "gaussian_blur", level=2)
    ours = iqa.create("gmsd", gray="rgb2gray_rounded")(y, x)
    theirs = piq.gmsd(y, x, data_range=1.0, reduction="none")
    n = 48 * 64
    # piq: std over N (not N - 1) and unrounded YIQ luma (0.299/0.587/0.114, close to the rounded
    # rgb2gray weights compared here; the default's 8-bit rounding is a larger difference).
    assert torch.allclose(theirs, ours * math.sqrt((n - 1) / n), rtol=2e-3)
    assert not torch.allclose(theirs, ours, rtol=1e-5)


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("gmsd")
    x = photos[:, :, :96, :96]
    assert torch.all(m(x, x) == 0)
    scores = torch.stack([m(distort(x, "white_noise", level=k, seed=1), x) for k in (1, 3, 5)])
    assert (scores[1:] > scores[:-1]).all()
    g, gy = x[:1, :1].double(), distort(x[:1], "jpeg", level=4)[:, :1].double()  # grey: used as grey levels directly
    assert m(gy, g).item() == pytest.approx(matlab_gmsd(gy[0, 0].numpy() * 255, g[0, 0].numpy() * 255), abs=1e-10)
    assert np.isfinite(m(x[:, :, :4, :4], x[:, :, :4, :4]).numpy()).all()
