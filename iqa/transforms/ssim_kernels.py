"""SSIM statistics: the kernel of the ``ssim``, ``ssim_rgb`` and ``ms_ssim`` metrics.

Paper: Wang, Bovik, Sheikh, Simoncelli, "Image quality assessment: from error visibility to
structural similarity", IEEE TIP 2004. Follows Wang's ``ssim_index.m`` / ``ssim.m``: Gaussian window (``fspecial('gaussian', 11, 1.5)``),
``filter2(..., 'valid')`` statistics, C1 = (K1 L)^2, C2 = (K2 L)^2, mean of the map. Large images
are processed in horizontal strips so peak memory stays bounded; the pooled sums are accumulated in
float64, so strips change the result only by floating-point summation order.
"""

from __future__ import annotations

from typing import Literal

import torch

from iqa.transforms.color import rgb_to_y
from iqa.transforms.filters import separable_filter_valid
from iqa.transforms.matlab import to_gray

# Output pixels per strip (over the whole batch): the five statistic maps of a strip then take
# ~4 MB and stay in cache through the 22 filter passes. 16 x 3 x 512x384: 0.39 s at 200k vs
# 0.62 s at 2M and 0.71 s at 50k (measured, benchmarks/bench_metrics.py batch).
_STRIP_PIXELS = 200_000


#: One channel of RGB input: BT.601 Y (``rgb2ycbcr``) or a MATLAB ``rgb2gray`` protocol.
Luma = Literal["y", "rgb2gray_uint8", "rgb2gray", "rgb2gray_rounded"]


def to_luma(x: torch.Tensor, *, data_range: float, gray: Luma, quantize_y: bool) -> torch.Tensor:
    """The one channel SSIM-family metrics compare: ``rgb2ycbcr`` Y or ``rgb2gray`` grey (grey input as is)."""
    if x.shape[1] != 3:
        return x
    if gray == "y":
        return rgb_to_y(x, data_range=data_range, quantize=quantize_y)
    return to_gray(x, data_range=data_range, gray=gray)


def _strip_stats(
    x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor, c1: float, c2: float, centre: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    c = x.shape[1]
    # Moments of centred data: E[x^2] - mu^2 cancels far less in float32 when x is near 0
    # (posterised images lost 2e-6 of accuracy without it). Luminance uses the absolute means.
    xc, yc = x - centre, y - centre
    maps = separable_filter_valid(torch.cat([xc, yc, xc * xc, yc * yc, xc * yc], dim=1), kernel)
    mx, my, e_xx, e_yy, e_xy = maps.split(c, dim=1)
    sigma_x, sigma_y, sigma_xy = e_xx - mx * mx, e_yy - my * my, e_xy - mx * my
    mu_x, mu_y = mx + centre, my + centre
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    cs_map = (2.0 * sigma_xy + c2) / (sigma_x + sigma_y + c2)
    lum_map = (2.0 * mu_xy + c1) / (mu_xx + mu_yy + c1)
    ssim_sum = (lum_map * cs_map).sum(dim=(-2, -1), dtype=torch.float64)
    cs_sum = cs_map.sum(dim=(-2, -1), dtype=torch.float64)
    return ssim_sum, cs_sum


def ssim_and_cs(
    x: torch.Tensor,
    y: torch.Tensor,
    kernel: torch.Tensor,
    *,
    data_range: float,
    k1: float,
    k2: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure term per (N, C), float64, 'valid' windows only."""
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    size = kernel.numel()
    h, w = x.shape[-2:]
    out_h, out_w = h - size + 1, w - size + 1
    rows = max(1, _STRIP_PIXELS // max(1, out_w * x.shape[0] * x.shape[1]))
    # One centre per image and channel (never per batch), from both images, in float64.
    centre = x.mean(dim=(-2, -1), keepdim=True, dtype=torch.float64) + y.mean(
        dim=(-2, -1), keepdim=True, dtype=torch.float64
    )
    centre = (centre / 2).to(x.dtype)
    totals: tuple[torch.Tensor, torch.Tensor] | None = None
    for start in range(0, out_h, rows):
        stop = min(out_h, start + rows)
        xs, ys = x[..., start : stop + size - 1, :], y[..., start : stop + size - 1, :]
        s, cs = _strip_stats(xs, ys, kernel, c1, c2, centre)
        totals = (s, cs) if totals is None else (totals[0] + s, totals[1] + cs)
    assert totals is not None  # out_h >= 1: the caller checked the image against the window
    count = float(out_h * out_w)
    return totals[0] / count, totals[1] / count
