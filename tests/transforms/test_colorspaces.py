"""Colour spaces against scikit-image and Pillow; round trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import color

from iqa.transforms.colorspaces import hsv_to_rgb, lab_to_rgb, rgb_to_hsv, rgb_to_lab, rgb_to_ycbcr, ycbcr_to_rgb


@pytest.fixture
def x(photo) -> torch.Tensor:  # noqa: ANN001
    return photo[:, :, :64, :80].double()


def test_lab_matches_skimage(x: torch.Tensor) -> None:
    ref = color.rgb2lab(x[0].permute(1, 2, 0).numpy())
    ours = rgb_to_lab(x)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - ref).max() < 1e-3  # skimage rounds the XYZ matrix differently in the 5th digit
    assert torch.allclose(lab_to_rgb(rgb_to_lab(x)), x, atol=1e-6)


def test_hsv_matches_skimage(x: torch.Tensor) -> None:
    ref = color.rgb2hsv(x[0].permute(1, 2, 0).numpy())
    ours = rgb_to_hsv(x)[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - ref).max() < 1e-9
    assert torch.allclose(hsv_to_rgb(rgb_to_hsv(x)), x, atol=1e-9)


def test_ycbcr_is_pillows_jfif(x: torch.Tensor) -> None:
    u8 = (x[0] * 255).round().byte().permute(1, 2, 0).numpy()
    ref = np.asarray(Image.fromarray(u8).convert("YCbCr")).astype(np.float64)
    ours = rgb_to_ycbcr(torch.from_numpy(u8).permute(2, 0, 1)[None].double() / 255)[0].permute(1, 2, 0).numpy() * 255
    assert np.abs(ours - ref).max() < 1.0 + 1e-6  # Pillow: 8-bit fixed-point, rounding differs by < 1 level
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-9)
