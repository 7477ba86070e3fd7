"""Filtering helpers with MATLAB-compatible boundary rules.

MATLAB's ``imfilter(x, ones(f)/f^2, 'symmetric', 'same')`` followed by ``x(1:f:end, 1:f:end)``
is the downsampling step of Wang's ``ssim.m`` (factor ``f``) and ``msssim.m`` (factor 2). It equals
half-sample-symmetric padding by ``(f-1)//2`` before and ``f-1-(f-1)//2`` after, then an ``f x f``
average pool with stride ``f``; :func:`matlab_box_downsample` implements exactly that.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def gaussian_kernel1d(
    size: int, sigma: float, *, dtype: torch.dtype, device: torch.device | None = None
) -> torch.Tensor:
    """Normalised 1-D Gaussian; its outer product is MATLAB's ``fspecial('gaussian', size, sigma)``."""
    r = (size - 1) / 2.0
    t = torch.arange(size, dtype=torch.float64) - r
    g = torch.exp(-(t**2) / (2.0 * sigma**2))
    return (g / g.sum()).to(dtype=dtype, device=device)


def separable_filter_valid(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Correlate each channel of ``x`` (..., H, W) with ``outer(k, k)``, 'valid' output.

    Implemented as shifted multiply-adds: for small 1-D kernels this is ~10x faster on CPU than
    ``conv2d`` with one input channel (measured: 4.6 ms vs 47 ms for 5x512x512, 11 taps).
    """
    size = k.numel()
    taps = [float(v) for v in k.detach().cpu().tolist()]
    w = x.shape[-1] - size + 1
    rows = x[..., :, 0:w] * taps[0]
    for i in range(1, size):
        rows.add_(x[..., :, i : i + w], alpha=taps[i])
    h = x.shape[-2] - size + 1
    out = rows[..., 0:h, :] * taps[0]
    for i in range(1, size):
        out.add_(rows[..., i : i + h, :], alpha=taps[i])
    return out


def _symmetric_index(n: int, before: int, after: int, device: torch.device) -> torch.Tensor:
    # Half-sample symmetric (MATLAB 'symmetric', numpy 'symmetric'): ... x1 x0 | x0 x1 ... x_{n-1} | x_{n-1} ...
    idx = torch.arange(-before, n + after, device=device)
    period = 2 * n
    idx = torch.remainder(idx, period)
    return torch.where(idx >= n, period - 1 - idx, idx)


def symmetric_pad(x: torch.Tensor, top: int, bottom: int, left: int, right: int) -> torch.Tensor:
    """Pad the last two dims with half-sample symmetric reflection (edge pixel repeated)."""
    if top or bottom:
        x = x.index_select(-2, _symmetric_index(x.shape[-2], top, bottom, x.device))
    if left or right:
        x = x.index_select(-1, _symmetric_index(x.shape[-1], left, right, x.device))
    return x


def matlab_box_downsample(x: torch.Tensor, f: int) -> torch.Tensor:
    """``imfilter(x, ones(f)/f^2, 'symmetric', 'same')`` then ``x(1:f:end, 1:f:end)``.

    Output size is ``ceil(H/f) x ceil(W/f)``. For ``f == 2`` and even sizes this equals
    ``avg_pool2d(x, 2)``; for other ``f`` the window is centred as MATLAB centres even/odd kernels.
    """
    if f <= 1:
        return x
    before = (f - 1) // 2
    h, w = x.shape[-2:]
    # Pad only what the strided windows actually read, to avoid copying more than needed.
    after_h = max(0, math.ceil(h / f) * f - h - before)
    after_w = max(0, math.ceil(w / f) * f - w - before)
    x = symmetric_pad(x, before, after_h, before, after_w)
    return F.avg_pool2d(x, kernel_size=f, stride=f)
