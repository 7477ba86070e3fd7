"""Resizing with named conventions: TensorFlow 1.x bilinear (FID-Inception 'TF-exact' path).

TF 1.x ``resize_bilinear(align_corners=False)`` maps output pixel ``i`` to input coordinate
``i * in/out`` (no half-pixel offset, unlike ``F.interpolate``), interpolating between
``floor`` and ``min(floor + 1, in - 1)``. torch-fidelity's extractor uses this path; pytorch-fid
uses ``F.interpolate(..., mode="bilinear", align_corners=False)`` instead.
"""

from __future__ import annotations

import torch


def _axis(n_in: int, n_out: int, device: torch.device, dtype: torch.dtype):  # noqa: ANN202
    scale = n_in / n_out
    src = torch.arange(n_out, device=device, dtype=torch.float64) * scale
    lo = torch.floor(src).long().clamp_max(n_in - 1)
    hi = (lo + 1).clamp_max(n_in - 1)
    frac = (src - lo.to(torch.float64)).to(dtype)
    return lo, hi, frac


def resize_bilinear_tf1(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TF 1.x bilinear resize (align_corners=False) of (N, C, H, W) float images."""
    h_out, w_out = size
    ylo, yhi, fy = _axis(x.shape[-2], h_out, x.device, x.dtype)
    xlo, xhi, fx = _axis(x.shape[-1], w_out, x.device, x.dtype)
    top_rows, bottom_rows = x.index_select(-2, ylo), x.index_select(-2, yhi)
    fx = fx.view(1, 1, 1, -1)
    top = top_rows.index_select(-1, xlo)
    top = top + (top_rows.index_select(-1, xhi) - top) * fx
    bottom = bottom_rows.index_select(-1, xlo)
    bottom = bottom + (bottom_rows.index_select(-1, xhi) - bottom) * fx
    return top + (bottom - top) * fy.view(1, 1, -1, 1)
