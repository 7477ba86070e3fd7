"""Spatial distortions (KADID-10k types 19-23). Random draws are made once per image and levels use a
prefix or a scaling of them, so a higher level contains the lower one's damage.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from iqa.augment._core import DistortionSpec, area_scale, register, uniform

MAX_PATCHES = 100  # per 512x384 image, the most any level uses


def jitter(x: torch.Tensor, amp: float, g: torch.Generator) -> torch.Tensor:
    _, _, h, w = x.shape
    off = (2 * uniform(g, 2, h, w) - 1) * amp
    ys = (torch.arange(h, dtype=x.dtype).view(-1, 1) + off[0]).clamp(0, h - 1)
    xs = (torch.arange(w, dtype=x.dtype).view(1, -1) + off[1]).clamp(0, w - 1)
    grid = torch.stack([2 * xs / max(w - 1, 1) - 1, 2 * ys / max(h - 1, 1) - 1], -1)[None]
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)


def _count(x: torch.Tensor, per_kadid_image: float) -> int:
    return max(1, round(per_kadid_image * area_scale(x)))


def non_eccentricity_patch(x: torch.Tensor, n: float, g: torch.Generator) -> torch.Tensor:
    """Copies of 16x16 patches pasted 8-24 px away from where they were taken."""
    _, _, h, w = x.shape
    p = min(16, h // 4, w // 4)
    draws = uniform(g, MAX_PATCHES, 6)
    out = x.clone()
    for y0, x0, my, mx, sgy, sgx in draws[: _count(x, n)].tolist():
        sy, sx = int(y0 * (h - p)), int(x0 * (w - p))
        dy, dx = (1 if sgy < 0.5 else -1) * int(8 + 16 * my), (1 if sgx < 0.5 else -1) * int(8 + 16 * mx)
        ty, tx = min(max(sy + dy, 0), h - p), min(max(sx + dx, 0), w - p)
        out[:, :, ty : ty + p, tx : tx + p] = x[:, :, sy : sy + p, sx : sx + p]
    return out


def pixelate(x: torch.Tensor, factor: float, g: torch.Generator) -> torch.Tensor:
    h, w = x.shape[-2:]
    small = F.interpolate(x, size=(max(1, round(h / factor)), max(1, round(w / factor))), mode="area")
    return F.interpolate(small, size=(h, w), mode="nearest")


def quantization(x: torch.Tensor, levels: float, g: torch.Generator) -> torch.Tensor:
    n = max(2.0, levels) - 1
    return torch.round(x * n) / n


def color_block(x: torch.Tensor, n: float, g: torch.Generator) -> torch.Tensor:
    _, _, h, w = x.shape
    b = max(4, round(min(h, w) / 12))
    draws = uniform(g, 10, 5)
    out = x.clone()
    for y0, x0, r, gr, bl in draws[: max(1, round(n))].tolist():  # a fixed count; the side scales with the image
        sy, sx = int(y0 * (h - b)), int(x0 * (w - b))
        out[:, :, sy : sy + b, sx : sx + b] = torch.tensor([r, gr, bl], dtype=x.dtype).view(1, 3, 1, 1)
    return out


register(
    DistortionSpec(
        "jitter",
        19,
        "spatial",
        jitter,
        "max displacement (px)",
        0.0,
        (0.5, 1.0, 2.0, 3.0, 4.0),
        "each pixel resampled from a random offset",
    )
)
register(
    DistortionSpec(
        "non_eccentricity_patch",
        20,
        "spatial",
        non_eccentricity_patch,
        "patches per 512x384",
        0.0,
        (20.0, 40.0, 60.0, 80.0, 100.0),
        "16x16 patches copied to nearby positions",
    )
)
register(
    DistortionSpec(
        "pixelate",
        21,
        "spatial",
        pixelate,
        "block size (px)",
        1.0,
        (2.0, 3.0, 4.0, 6.0, 8.0),
        "area downsampling then nearest upsampling",
    )
)
register(
    DistortionSpec(
        "quantization",
        22,
        "spatial",
        quantization,
        "levels per channel",
        256.0,
        (24.0, 16.0, 12.0, 8.0, 5.0),
        "uniform quantisation of each channel",
    )
)
register(DistortionSpec("color_block", 23, "spatial", color_block, "number of blocks", 0.0, (2.0, 4.0, 6.0, 8.0, 10.0),
                        "uniformly coloured random squares, side min(H, W)/12"))  # fmt: skip
