"""MATLAB conventions shared by several reference implementations (FSIM, MDSI, VSI)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def matlab_round(v: float) -> int:
    """MATLAB ``round``: halves away from zero (Python's ``round`` takes halves to even)."""
    return int(math.floor(v + 0.5))


def auto_downsample_factor(rows: int, cols: int) -> int:
    """``max(1, round(min(rows, cols) / 256))``, the automatic downsampling of FSIM.m, MDSI.m, VSI.m."""
    return max(1, matlab_round(min(rows, cols) / 256))


def box_downsample(x: torch.Tensor, f: int) -> torch.Tensor:
    """``conv2(X, fspecial('average', f), 'same')`` sampled at ``1:f:end``, per channel.

    MATLAB's 'same' for a kernel of size f keeps full-convolution rows floor(f/2)..: zero padding
    of f - 1 - floor(f/2) before and floor(f/2) after, i.e. ceil(n/f) outputs per side.
    """
    if f == 1:
        return x
    before, after = f - 1 - f // 2, f // 2
    return F.avg_pool2d(F.pad(x, (before, after, before, after)), kernel_size=f, stride=f)
