"""fsim and fsimc: equal to a float64 transcription of FeatureSIM.m (FSIMc with MATLAB's complex branch); piq's variant explained; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import iqa
from iqa.augment import distort
from tests.oracles.fsim_official import feature_sim


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy() * 255


@pytest.mark.parametrize("size", [(96, 128), (97, 131), (400, 390)])  # odd grids; f = 2 with an odd side
def test_equals_featuresim_m(photos, size) -> None:  # noqa: ANN001
    x = (
        F.interpolate(photos[:2].double(), size=size, mode="bilinear", align_corners=False)
        if size[0] > 256
        else photos[:, :, : size[0], : size[1]].double()
    )
    y = distort(x, "jpeg", level=3, seed=0)
    fsim = iqa.create("fsim")(y, x)
    for i in range(len(x)):
        assert fsim[i].item() == pytest.approx(feature_sim(_hwc(x[i]), _hwc(y[i]))[0], abs=1e-10)


def test_grey_input(photos) -> None:  # noqa: ANN001
    x = photos[:2, :1, :80, :90].double()
    y = distort(x.expand(-1, 3, -1, -1), "gaussian_blur", level=3)[:, :1]
    ours = iqa.create("fsim")(y, x)
    assert ours[0].item() == pytest.approx(feature_sim(x[0, 0].numpy() * 255, y[0, 0].numpy() * 255)[0], abs=1e-10)


def test_piq_differences(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, :96, :128].double()
    y = distort(x, "white_noise", level=3, seed=0)
    ours, theirs = iqa.create("fsim")(y, x), piq.fsim(y, x, data_range=1.0, reduction="none", chromatic=False)
    # Same filters; the lower-middle median moves the noise threshold slightly.
    assert torch.allclose(ours, theirs, rtol=1e-3)
    assert not torch.allclose(ours, theirs, rtol=1e-9)


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("fsim")
    x = photos[:, :, :96, :96]
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()


@pytest.mark.parametrize("size", [(97, 131), (400, 390)])
def test_fsimc_equals_featuresim_m(photos, size) -> None:  # noqa: ANN001
    x = (
        F.interpolate(photos[:2].double(), size=size, mode="bilinear", align_corners=False)
        if size[0] > 256
        else photos[:, :, : size[0], : size[1]].double()
    )
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("fsimc")(y, x)
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(feature_sim(_hwc(x[i]), _hwc(y[i]))[1], abs=1e-10)


def test_negative_chroma_similarity_takes_matlabs_complex_branch() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.zeros(1, 3, 40, 44, dtype=torch.float64)
    x[:, 0] = 0.5 + 0.5 * torch.rand(40, 44, generator=g, dtype=torch.float64)  # textured red
    y = x[:, [2, 1, 0]]  # the same texture in blue: S_I S_Q < 0 on every pixel
    i_r, i_d = (0.596 * t[:, 0] - 0.274 * t[:, 1] - 0.322 * t[:, 2] for t in (x * 255, y * 255))
    assert ((2 * i_r * i_d + 200) < 0).all()
    want = feature_sim(_hwc(x[0]), _hwc(y[0]))
    assert iqa.create("fsimc")(y, x).item() == pytest.approx(want[1], abs=1e-10)
    piq = pytest.importorskip("piq")
    # piq's |S_I S_Q|^0.03 drops MATLAB's cos(0.03 pi) = 0.9956 factor on negative products.
    assert piq.fsim(y, x, data_range=1.0, chromatic=True).item() > want[1] * 1.002


def test_fsimc_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("fsimc")
    x = photos[:, :, :96, :96]
    assert torch.allclose(m(x, x), torch.ones(len(x)), atol=1e-6)
    scores = torch.stack([m(distort(x, "gaussian_blur", level=k), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()
    shifted = x[:, [2, 1, 0]]
    assert (m(shifted, x) < iqa.create("fsim")(shifted, x)).all()  # chroma counts only here
    g, gy = x[:, :1], distort(x, "jpeg", level=3)[:, :1]
    assert torch.equal(m(gy, g), iqa.create("fsim")(gy, g))  # grey: FSIMc = FSIM
