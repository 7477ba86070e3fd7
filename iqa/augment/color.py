"""Colour distortions (KADID-10k types 04-08)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from iqa.augment._core import DistortionSpec, blur_separable, gaussian_kernel, register, uniform
from iqa.transforms.colorspaces import hsv_to_rgb, lab_to_rgb, rgb_to_hsv, rgb_to_lab


def color_diffusion(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    lab = rgb_to_lab(x)
    ab = blur_separable(lab[:, 1:], gaussian_kernel(sigma))
    return lab_to_rgb(torch.cat([lab[:, :1], ab], 1))


def shift(x: torch.Tensor, dy: float, dx: float) -> torch.Tensor:
    """Translate by (dy, dx) pixels, bilinear, borders replicated."""
    n, _, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype) - dy
    xs = torch.arange(w, dtype=x.dtype) - dx
    gy, gx = torch.meshgrid(2 * ys / max(h - 1, 1) - 1, 2 * xs / max(w - 1, 1) - 1, indexing="ij")
    grid = torch.stack([gx, gy], -1).expand(n, h, w, 2)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def color_shift(x: torch.Tensor, dist: float, g: torch.Generator) -> torch.Tensor:
    angle = float(uniform(g, 1)) * 2 * math.pi
    out = x.clone()
    out[:, 1:2] = shift(x[:, 1:2], dist * math.sin(angle), dist * math.cos(angle))  # the green channel moves
    return out


def color_quantization(x: torch.Tensor, colors: float, g: torch.Generator) -> torch.Tensor:
    a = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    q = Image.fromarray(a).quantize(
        colors=max(2, round(colors)), method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    return torch.from_numpy(np.asarray(q.convert("RGB"), dtype=np.float64) / 255).permute(2, 0, 1)[None]


def saturation_hsv(x: torch.Tensor, factor: float, g: torch.Generator) -> torch.Tensor:
    hsv = rgb_to_hsv(x)
    hsv[:, 1] *= factor
    return hsv_to_rgb(hsv)


def saturation_lab(x: torch.Tensor, factor: float, g: torch.Generator) -> torch.Tensor:
    lab = rgb_to_lab(x)
    lab[:, 1:] *= factor
    return lab_to_rgb(lab)


register(
    DistortionSpec(
        "color_diffusion",
        4,
        "color",
        color_diffusion,
        "sigma of a*/b* blur (px)",
        0.0,
        (1.0, 3.0, 6.0, 8.0, 12.0),
        "gaussian blur of the CIELAB chroma channels only",
    )
)
register(
    DistortionSpec(
        "color_shift",
        5,
        "color",
        color_shift,
        "green-channel shift (px)",
        0.0,
        (1.0, 3.0, 6.0, 8.0, 12.0),
        "green channel translated in a random direction",
    )
)
register(
    DistortionSpec(
        "color_quantization",
        6,
        "color",
        color_quantization,
        "palette size",
        256.0,
        (64.0, 48.0, 32.0, 16.0, 8.0),
        "median-cut palette (Pillow), no dithering",
    )
)
register(
    DistortionSpec(
        "color_saturation_hsv",
        7,
        "color",
        saturation_hsv,
        "HSV saturation factor",
        1.0,
        (0.8, 0.6, 0.4, 0.2, 0.0),
        "desaturation in HSV",
    )
)
register(DistortionSpec("color_saturation_lab", 8, "color", saturation_lab, "CIELAB chroma factor", 1.0, (1.5, 2.0, 3.0, 4.5, 6.0),
                        "over-saturation in CIELAB, clipped to the sRGB gamut"))  # fmt: skip
