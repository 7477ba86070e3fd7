"""Resizing with named conventions: TensorFlow 1.x bilinear (FID-Inception 'TF-exact' path).

TF 1.x ``resize_bilinear(align_corners=False)`` maps output pixel ``i`` to input coordinate
``i * in/out`` (no half-pixel offset, unlike ``F.interpolate``), interpolating between
``floor`` and ``min(floor + 1, in - 1)``. torch-fidelity's extractor uses this path; pytorch-fid
uses ``F.interpolate(..., mode="bilinear", align_corners=False)`` instead.
"""

from __future__ import annotations

import torch


def _matrix(n_in: int, n_out: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """(n_out, n_in) interpolation matrix: two non-zeros per row, TF1 coordinates."""
    src = torch.arange(n_out, dtype=torch.float64) * (n_in / n_out)
    lo = torch.floor(src).long().clamp_max(n_in - 1)
    hi = (lo + 1).clamp_max(n_in - 1)
    frac = src - lo.to(torch.float64)
    m = torch.zeros(n_out, n_in, dtype=torch.float64)
    rows = torch.arange(n_out)
    m.index_put_((rows, lo), 1 - frac, accumulate=True)
    m.index_put_((rows, hi), frac, accumulate=True)
    return m.to(dtype=dtype, device=device)


def resize_bilinear_tf1(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """TF 1.x bilinear resize (align_corners=False) of (N, C, H, W) float images.

    Written as two small matrix products (rows, then columns); equal to TF's lerp formulation up
    to float rounding (< 1e-3 on the 0..255 scale against torch-fidelity's port, tested).
    """
    h_out, w_out = size
    wy = _matrix(x.shape[-2], h_out, x.dtype, x.device)
    wx = _matrix(x.shape[-1], w_out, x.dtype, x.device)
    return wy @ (x @ wx.T)
