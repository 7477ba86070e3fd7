"""mdsi: equal to a float64 transcription of MDSI.m; piq's rounding difference; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import iqa
from iqa.augment import distort
from iqa.metrics.fr.mdsi import gcs_polar
from tests.oracles.mdsi_official import mdsi as matlab_mdsi


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy() * 255


@pytest.mark.parametrize("size", [(96, 128), (256, 256), (385, 400)])  # f = 1, 1, 2 (odd side)
@pytest.mark.parametrize("comb", ["sum", "mult"])
def test_equals_mdsi_m(photos, size, comb: str) -> None:  # noqa: ANN001
    x = (
        F.interpolate(photos.double(), size=size, mode="bilinear", align_corners=False)
        if size[0] > 256
        else photos[:, :, : size[0], : size[1]].double()
    )
    y = distort(x, "jpeg", level=4, seed=0)
    ours = iqa.create("mdsi", combination=comb)(y, x)
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(matlab_mdsi(_hwc(x[i]), _hwc(y[i]), comb), abs=1e-10)


def test_negative_similarities_take_the_complex_branch() -> None:
    # A textured red reference against a flat blue image: opposite chroma (CS < 0) and no matching
    # gradients (GS < 0) drive GCS below zero, where MATLAB's powers go complex.
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 3, 48, 48, dtype=torch.float64)
    x[:, 0] = 0.4 + 0.6 * (torch.rand(48, 48, generator=g, dtype=torch.float64) > 0.5)
    y = torch.zeros_like(x)
    y[:, 2] = 0.9
    for comb in ("sum", "mult"):
        _, angle = gcs_polar(y * 255, x * 255, comb)
        assert (angle > 0).float().mean() > 0.5  # the branch is exercised
        assert iqa.create("mdsi", combination=comb)(y, x).item() == pytest.approx(
            matlab_mdsi(_hwc(x[0]), _hwc(y[0]), comb), abs=1e-10
        )


def test_piq_agrees_except_at_half_ratios(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, :200, :240].double()
    y = distort(x, "gaussian_blur", level=2)
    assert torch.allclose(iqa.create("mdsi")(y, x), piq.mdsi(y, x, data_range=1.0, reduction="none"), rtol=1e-8)
    # A 640-pixel side: 640/256 = 2.5, MATLAB rounds to f = 3, Python's round to f = 2.
    big = F.interpolate(x[:1], size=(640, 700), mode="bilinear", align_corners=False)
    big_y = distort(big, "gaussian_blur", level=2)
    ours = iqa.create("mdsi")(big_y, big).item()
    assert ours == pytest.approx(matlab_mdsi(_hwc(big[0]), _hwc(big_y[0])), abs=1e-10)
    assert abs(piq.mdsi(big_y, big, data_range=1.0).item() - ours) > 1e-4


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("mdsi")
    x = photos[:, :, :96, :96]
    assert torch.all(m(x, x) == 0)
    scores = torch.stack([m(distort(x, "white_noise", level=k, seed=2), x) for k in (1, 3, 5)])
    assert (scores[1:] > scores[:-1]).all()
    grey = m(x[:, :1], distort(x, "jpeg", level=3)[:, :1])
    assert torch.allclose(
        grey, m(x[:, :1].expand(-1, 3, -1, -1), distort(x, "jpeg", level=3)[:, :1].expand(-1, 3, -1, -1))
    )
