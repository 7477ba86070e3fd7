"""MATLAB conventions shared by several reference implementations (FSIM, MDSI, VSI)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def similarity(a: torch.Tensor, b: torch.Tensor, c: float) -> torch.Tensor:
    """(2ab + c) / (a^2 + b^2 + c): the similarity term FSIM, VSI, MDSI and HaarPSI all use."""
    return (2 * a * b + c) / (a * a + b * b + c)


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
    before = f - 1 - f // 2
    # Pad (or crop) each side to exactly f * ceil(n / f) samples: rows past the last window are never used.
    pads = []
    for n in (x.shape[-1], x.shape[-2]):
        pads += [before, f * math.ceil(n / f) - n - before]
    if f == 2 and not any(pads):  # even sides: two strided adds, twice as fast as avg_pool2d
        s = x[..., 0::2, :] + x[..., 1::2, :]
        return (s[..., 0::2] + s[..., 1::2]) * 0.25
    return F.avg_pool2d(F.pad(x, pads), kernel_size=f, stride=f)


def inv_or_pinv(c: torch.Tensor) -> torch.Tensor:
    """Inverse of a batch of symmetric matrices; the pseudo-inverse for the singular ones.

    Where MATLAB's ``inv`` warns and returns Inf (a flat image region makes a block covariance
    singular) and the scripts go on to NaN, this keeps the index defined.
    """
    inv, info = torch.linalg.inv_ex(c)
    if bool((info != 0).any()):
        inv = torch.where((info != 0).view(-1, *([1] * (c.dim() - 1))), torch.linalg.pinv(c, hermitian=True), inv)
    return inv
