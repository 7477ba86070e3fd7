"""psnr / psnr_y: golden values, analytic cases, parity with scikit-image, piq and torchmetrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import iqa
from iqa.metrics.fr.psnr import psnr, psnr_y
from tests.helpers.distort import noisy
from tests.helpers.golden import golden_inputs, load_golden


@pytest.mark.parametrize("metric", ["psnr", "psnr_y"])
def test_golden(metric: str) -> None:
    doc = load_golden(metric)
    m = iqa.create(metric)
    for key, (d, r) in golden_inputs().items():
        assert m(d, r).item() == pytest.approx(doc["values"][key], abs=doc["atol"]), key


def test_analytic_offset() -> None:
    # A constant offset of 0.1 on [0, 1] images gives MSE 0.01, i.e. exactly 20 dB (definition).
    x = torch.full((2, 3, 16, 16), 0.4)
    assert psnr(x + 0.1, x).tolist() == pytest.approx([20.0, 20.0], abs=1e-5)
    assert psnr(x * 255 + 25.5, x * 255, data_range=255).tolist() == pytest.approx([20.0, 20.0], abs=1e-5)


def test_identical_is_inf_and_crop_border() -> None:
    x = torch.rand(1, 3, 20, 20)
    assert math.isinf(psnr(x, x).item())
    y = x.clone()
    y[..., :2, :] = 0  # damage only the border
    assert math.isinf(psnr(y, x, crop_border=2).item())
    with pytest.raises(ValueError, match="crop_border"):
        psnr(y, x, crop_border=-1)


def test_matches_skimage(photos) -> None:  # noqa: ANN001
    from skimage.metrics import peak_signal_noise_ratio

    y = noisy(photos, 0.05)
    ours = psnr(y.double(), photos.double())
    for i in range(len(photos)):
        ref = peak_signal_noise_ratio(photos[i].double().numpy(), y[i].double().numpy(), data_range=1.0)
        assert ours[i].item() == pytest.approx(ref, abs=1e-9)
    assert psnr(y, photos).double().sub(ours).abs().max() < 1e-4  # float32 path


def test_matches_piq_and_torchmetrics(photos) -> None:  # noqa: ANN001
    piq = pytest.importorskip("piq")
    tm = pytest.importorskip("torchmetrics.functional.image")
    y = noisy(photos, 0.05)
    ours = psnr(y, photos)
    # piq adds 1e-8 to the MSE; at ~26 dB (MSE ~2.5e-3) that moves PSNR by ~2e-5 dB.
    assert torch.allclose(piq.psnr(y, photos, data_range=1.0, reduction="none"), ours, atol=1e-4)
    per_image = torch.stack([tm.peak_signal_noise_ratio(y[i], photos[i], data_range=1.0) for i in range(4)])
    assert torch.allclose(per_image, ours, atol=1e-4)


def test_psnr_y_uses_matlab_luma() -> None:
    # Y = 16/255 + (65.481 R + 128.553 G + 24.966 B)/255: a pure red shift of 0.1 moves Y by 0.1*65.481/255.
    x = torch.full((1, 3, 8, 8), 0.5)
    y = x.clone()
    y[:, 0] += 0.1
    expected = 10 * np.log10(1.0 / (0.1 * 65.481 / 255) ** 2)
    assert psnr_y(y, x).item() == pytest.approx(expected, abs=1e-4)


def test_psnr_y_grey_input_used_as_is() -> None:
    x = torch.rand(1, 1, 16, 16)
    y = (x + 0.05).clamp(0, 1)
    assert psnr_y(y, x).item() == pytest.approx(psnr(y, x).item(), abs=1e-6)
