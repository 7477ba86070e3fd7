"""haarpsi: equal to a float64 transcription of the authors' haarPsi.py; piq's variant explained; in [0, 1] in float32; properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.signal import convolve2d

import iqa
from iqa.augment import distort
from tests.oracles.haarpsi_official import haar_psi
from tests.oracles.matlab_gmsd import conv2_same


def _hwc(t: torch.Tensor) -> np.ndarray:
    return t.permute(1, 2, 0).numpy() * 255


def test_oracle_convolution_is_the_ports_rotation_trick() -> None:
    # haarPsi.py gets MATLAB's 'same' by rotating data and kernel 180 degrees around SciPy's convolve2d.
    rng = np.random.default_rng(0)
    a = rng.random((13, 10))
    for k in (2, 4, 8):
        h = rng.random((k, k))
        port = np.rot90(convolve2d(np.rot90(a, 2), np.rot90(h, 2), mode="same"), 2)
        assert np.allclose(port, conv2_same(a, h), atol=1e-12)


@pytest.mark.parametrize("size", [(96, 128), (97, 131)])  # odd sizes: MATLAB's zero-padded last rows
@pytest.mark.parametrize("subsample", [True, False])
def test_equals_haarpsi_py(photos, size, subsample: bool) -> None:  # noqa: ANN001
    x = photos[:, :, : size[0], : size[1]].double()
    y = distort(x, "jpeg", level=3, seed=0)
    ours = iqa.create("haarpsi", subsample=subsample)(y, x)
    for i in range(len(x)):
        assert ours[i].item() == pytest.approx(haar_psi(_hwc(x[i]), _hwc(y[i]), subsample), abs=1e-10)
    grey = iqa.create("haarpsi", subsample=subsample)(y[:, :1], x[:, :1])
    assert grey[0].item() == pytest.approx(haar_psi(_hwc(x[0])[..., 0], _hwc(y[0])[..., 0], subsample), abs=1e-10)


def test_piq_differs_by_its_yiq_matrix(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    x = photos[:, :, :96, :128].double()
    y = distort(x, "gaussian_blur", level=2)
    ours = iqa.create("haarpsi")(y, x)
    theirs = piq.haarpsi(y, x, data_range=1.0, reduction="none")
    # Same algorithm on even sizes; piq's I/Q rows (0.5959, -0.2746, ...) move the chroma term slightly.
    assert torch.allclose(theirs, ours, rtol=1e-3)
    assert torch.allclose(
        piq.haarpsi(y[:, :1], x[:, :1], data_range=1.0, reduction="none"),
        iqa.create("haarpsi")(y[:, :1], x[:, :1]),
        rtol=1e-9,
    )


def test_properties(photos) -> None:  # noqa: ANN001
    m = iqa.create("haarpsi")
    x = photos[:, :, :96, :96]
    assert torch.equal(m(x, x), torch.ones(len(x)))
    scores = torch.stack([m(distort(x, "white_noise", level=k, seed=1), x) for k in (1, 3, 5)])
    assert (scores[1:] < scores[:-1]).all()
    assert ((scores > 0) & (scores < 1)).all()
    # Symmetric in its arguments (every term is).
    y = distort(x, "jpeg", level=4)
    assert torch.allclose(m(y, x), m(x, y), atol=1e-6)


def test_float32_stays_in_range_and_near_the_float64_oracle(photos) -> None:  # noqa: ANN001
    # The scripts' (logit(pooled) / alpha)^2 in float32 gave 1.0000002 on these identical crops
    # (1.0000062 on others): logit's slope at sigmoid(4.2) multiplies the pooling's rounding by 68.
    m = iqa.create("haarpsi")
    for dtype in (torch.float32, torch.float64):
        x = photos.to(dtype)
        assert torch.equal(m(x, x), torch.ones(len(x), dtype=dtype))
    g = torch.Generator().manual_seed(0)
    y = (photos + 1e-4 * torch.randn(photos.shape, generator=g)).clamp(0, 1)  # near-identical: scores ~ 1 - 1e-6
    ours = m(y, photos)
    assert (ours <= 1).all()
    oracle = torch.tensor(
        [haar_psi(_hwc(photos[i].double()), _hwc(y[i].double())) for i in range(len(y))], dtype=torch.float64
    )
    # float32 maps and sums: measured 6e-8 from the float64 oracle (the scripts' form in float32: 3.3e-6).
    assert torch.allclose(ours.double(), oracle, rtol=0, atol=3e-7)
    yg = y.clone().requires_grad_(True)
    m(yg, photos).sum().backward()
    assert yg.grad is not None and torch.isfinite(yg.grad).all() and yg.grad.abs().sum() > 0
