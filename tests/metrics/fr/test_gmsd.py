"""gmsd: equal to a float64 transcription of GMSD.m; piq's variant explained; properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import iqa
from iqa.augment import distort
from tests.oracles.matlab_gmsd import gmsd as matlab_gmsd
from tests.oracles.matlab_gmsd import rgb2gray


@pytest.mark.parametrize("size", [(96, 128), (97, 131)])  # even and odd: MATLAB's zero-padded last block
def test_equals_gmsd_m(photos, size) -> None:  # noqa: ANN001
    x = photos[:, :, : size[0], : size[1]].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("gmsd")(y, x)
    for i in range(len(x)):
        a = rgb2gray(y[i].permute(1, 2, 0).numpy() * 255)
        b = rgb2gray(x[i].permute(1, 2, 0).numpy() * 255)
        assert ours[i].item() == pytest.approx(matlab_gmsd(a, b), abs=1e-10)


def test_piq_uses_the_population_std(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, :96, :128].double()
    y = distort(x, "gaussian_blur", level=2)
    ours = iqa.create("gmsd")(y, x)
    theirs = piq.gmsd(y, x, data_range=1.0, reduction="none")
    n = 48 * 64
    # piq: std over N (not N - 1) and YIQ luma (0.299/0.587/0.114, not rgb2gray's 0.2989/.../0.1140).
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
