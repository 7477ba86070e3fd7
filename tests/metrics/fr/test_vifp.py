"""vifp: equal to a float64 transcription of vifp_mscale.m fed MATLAB rgb2gray output, and to piq's port."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import iqa
from iqa.augment import distort
from tests.oracles.matlab_rgb2gray import gray_levels
from tests.oracles.matlab_vifp import vifp_mscale

ROUNDED = torch.tensor([0.2989, 0.5870, 0.1140], dtype=torch.float64).view(1, 3, 1, 1)  # iqa 0.1's conversion


def matlab_grey(x: torch.Tensor) -> np.ndarray:
    """double(rgb2gray(imread(file))) for one (3, H, W) image in [0, 1]: the script's input."""
    return gray_levels(x.permute(1, 2, 0).numpy())


@pytest.mark.parametrize("level", [1, 4])
def test_equals_vifp_mscale_m_on_matlab_rgb2gray(photos, level: int) -> None:  # noqa: ANN001
    # Default protocol: RGB in, the oracle fed MATLAB's uint8 rgb2gray levels. 1e-10: float64 on both
    # sides, only the filtering order differs (measured: at most 2e-13 here).
    x = photos[:, :, :120, :150].double()
    y = distort(x, "gaussian_blur", level=level)
    ours = iqa.create("vifp")(y, x)
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(vifp_mscale(matlab_grey(x[i]), matlab_grey(y[i])), abs=1e-10)


def test_rounded_option_keeps_the_unrounded_conversion(photos) -> None:  # noqa: ANN001
    # gray="rgb2gray_rounded" is iqa 0.1's conversion (0.2989/0.5870/0.1140 on float data, no rounding).
    x = photos[:, :, :120, :150].double()
    y = distort(x, "gaussian_blur", level=1)
    ours = iqa.create("vifp", gray="rgb2gray_rounded")(y, x)
    gx, gy = (x * ROUNDED).sum(1) * 255, (y * ROUNDED).sum(1) * 255
    for i in range(len(x)):
        theirs = vifp_mscale(gx[i].numpy(), gy[i].numpy())
        assert ours[i].item() == pytest.approx(theirs, abs=1e-10)
        # The protocols differ by far more than the tolerance here (2e-3 to 1.4e-2, measured).
        assert abs(theirs - vifp_mscale(matlab_grey(x[i]), matlab_grey(y[i]))) > 1e-6


def test_agrees_with_piq_on_grey(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :1, :128, :128].double()
    y = distort(x.expand(-1, 3, -1, -1), "jpeg", level=3)[:, :1]
    assert torch.allclose(iqa.create("vifp")(y, x), piq.vif_p(y, x, data_range=1.0, reduction="none"), rtol=1e-6)


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("vifp")
    x = photos[:, :, :96, :96]
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    vals = torch.stack([m(distort(x, "white_noise", level=k, seed=0), x) for k in (1, 3, 5)])
    assert (vals[1:] < vals[:-1]).all()
    assert (m(distort(x, "contrast_change", level=1).clamp(0, 1), x) < 1).all()
