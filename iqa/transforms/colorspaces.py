"""Invertible colour-space conversions on float NCHW RGB in [0, 1] (for distortions and views).

- ``rgb_to_lab``/``lab_to_rgb``: sRGB (IEC 61966-2-1 transfer curve) -> CIE XYZ (D65) -> CIELAB,
  as ``skimage.color.rgb2lab`` with its default D65/2-degree white point; L in [0, 100].
- ``rgb_to_hsv``/``hsv_to_rgb``: hexcone HSV, all channels in [0, 1] (``skimage.color.rgb2hsv``).
- ``rgb_to_ycbcr``/``ycbcr_to_rgb``: BT.601 full range (JPEG/JFIF, what Pillow's "YCbCr" mode
  uses), Cb/Cr centred on 0.5.
"""

from __future__ import annotations

import torch

_RGB_TO_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_WHITE = torch.tensor([0.95047, 1.0, 1.08883])  # D65, 2 degrees (skimage's default)
_YCC = torch.tensor([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])


def _mix(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    return torch.einsum("ij,njhw->nihw", m.to(x), x)


def _srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0.04045, ((x + 0.055) / 1.055).clamp_min(0) ** 2.4, x / 12.92)


def _linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x > 0.0031308, 1.055 * x.clamp_min(1e-12) ** (1 / 2.4) - 0.055, 12.92 * x)


def rgb_to_lab(x: torch.Tensor) -> torch.Tensor:
    xyz = _mix(_srgb_to_linear(x), _RGB_TO_XYZ) / _WHITE.to(x).view(1, 3, 1, 1)
    f = torch.where(xyz > 0.008856, xyz.clamp_min(1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    return torch.stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], 1)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    fy = (lab[:, 0] + 16) / 116
    f = torch.stack([fy + lab[:, 1] / 500, fy, fy - lab[:, 2] / 200], 1)
    xyz = torch.where(f > 0.2068966, f**3, (f - 16 / 116) / 7.787) * _WHITE.to(lab).view(1, 3, 1, 1)
    return _linear_to_srgb(_mix(xyz, torch.linalg.inv(_RGB_TO_XYZ.double()).to(lab)))


def rgb_to_hsv(x: torch.Tensor) -> torch.Tensor:
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    v, _ = x.max(1)
    c = v - x.min(1).values
    safe = torch.where(c > 0, c, torch.ones_like(c))
    h = torch.where(v == r, ((g - b) / safe) % 6, torch.where(v == g, (b - r) / safe + 2, (r - g) / safe + 4))
    h = torch.where(c > 0, h / 6, torch.zeros_like(h))
    s = torch.where(v > 0, c / torch.where(v > 0, v, torch.ones_like(v)), torch.zeros_like(v))
    return torch.stack([h, s, v], 1)


def hsv_to_rgb(hsv: torch.Tensor) -> torch.Tensor:
    h, s, v = hsv[:, 0], hsv[:, 1], hsv[:, 2]
    k = torch.stack([(5 + h * 6) % 6, (3 + h * 6) % 6, (1 + h * 6) % 6], 1)
    return v.unsqueeze(1) - (v * s).unsqueeze(1) * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def rgb_to_ycbcr(x: torch.Tensor) -> torch.Tensor:
    y = _mix(x, _YCC)
    return y + torch.tensor([0.0, 0.5, 0.5], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)


def ycbcr_to_rgb(y: torch.Tensor) -> torch.Tensor:
    centred = y - torch.tensor([0.0, 0.5, 0.5], dtype=y.dtype, device=y.device).view(1, 3, 1, 1)
    return _mix(centred, torch.linalg.inv(_YCC.double()).to(y))
