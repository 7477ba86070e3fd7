"""vifp: equal to a float64 transcription of vifp_mscale.m and to piq's port; properties."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.augment import distort
from tests.oracles.matlab_gmsd import rgb2gray
from tests.oracles.matlab_vifp import vifp_mscale


@pytest.mark.parametrize("level", [1, 4])
def test_equals_vifp_mscale_m(photos, level: int) -> None:  # noqa: ANN001
    x = photos[:, :, :120, :150].double()
    y = distort(x, "gaussian_blur", level=level)
    ours = iqa.create("vifp")(y, x)
    for i in range(len(x)):
        ref = rgb2gray(x[i].permute(1, 2, 0).numpy() * 255)
        dist = rgb2gray(y[i].permute(1, 2, 0).numpy() * 255)
        assert ours[i].item() == pytest.approx(vifp_mscale(ref, dist), abs=1e-10)


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
