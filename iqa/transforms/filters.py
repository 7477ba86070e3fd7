"""Filtering helpers with MATLAB-compatible boundary rules.

Gaussian windows as ``fspecial('gaussian', size, sigma)``, separable 'valid' filtering and
half-sample-symmetric padding (MATLAB ``'symmetric'``). The downsampling rules of the MATLAB
reference scripts built on them are in :mod:`iqa.transforms.matlab`.
"""

from __future__ import annotations

import torch


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
