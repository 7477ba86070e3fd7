"""Gradient magnitudes and the similarity term of the gradient-based FR metrics.

- :func:`prewitt_magnitude`: the Prewitt operator ``[1 0 -1; 1 0 -1; 1 0 -1] / 3`` and its
  transpose with ``conv2(..., 'same')`` (zero padding), as in GMSD.m (Xue et al., IEEE TIP 2014)
  and MDSI.m (Ziaei Nafchi et al., IEEE Access 2016); piq's ``multi_scale_gmsd`` uses the same.
- :func:`scharr_magnitude`: the Scharr operator ``[3 0 -3; 10 0 -10; 3 0 -3] / 16`` with zero
  padding, as in FeatureSIM.m (Zhang et al., IEEE TIP 2011) and VSI.m (Zhang et al., IEEE TIP 2014).
- :func:`similarity`: ``(2ab + c) / (a^2 + b^2 + c)``, the local similarity FSIM, VSI, MDSI,
  GMSD and HaarPSI all build on.

Both magnitudes floor the squared magnitude at 1e-24 inside the square root so the gradient stays
finite on flat areas (a zero magnitude becomes 1e-12).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def similarity(a: torch.Tensor, b: torch.Tensor, c: float) -> torch.Tensor:
    """(2ab + c) / (a^2 + b^2 + c), element-wise; 1 where a == b."""
    return (2 * a * b + c) / (a * a + b * b + c)


def prewitt_magnitude(y: torch.Tensor) -> torch.Tensor:
    """Prewitt gradient magnitude of (N, 1, H, W) images, MATLAB ``conv2(..., 'same')`` zero padding."""
    # Correlation with [-1 0 1] rows is conv2 with GMSD.m's [1 0 -1] rows (conv2 flips the kernel).
    k = torch.tensor([[-1.0, 0.0, 1.0]] * 3, dtype=y.dtype, device=y.device) / 3
    gx = F.conv2d(y, k.view(1, 1, 3, 3), padding=1)
    gy = F.conv2d(y, k.t().contiguous().view(1, 1, 3, 3), padding=1)
    return torch.sqrt(gx * gx + gy * gy + 1e-24)


def scharr_magnitude(y: torch.Tensor) -> torch.Tensor:
    """Scharr gradient magnitude of (N, 1, H, W) images with zero padding (FeatureSIM.m, VSI.m)."""
    k = torch.tensor([[3.0, 0.0, -3.0], [10.0, 0.0, -10.0], [3.0, 0.0, -3.0]], dtype=y.dtype, device=y.device) / 16
    g = F.conv2d(y, torch.stack([k, k.t()])[:, None], padding=1)  # sign irrelevant under the magnitude
    return torch.sqrt((g * g).sum(1, keepdim=True) + 1e-24)
