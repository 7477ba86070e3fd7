"""Natural-scene-statistics building blocks shared by NIQE and BRISQUE (the LIVE MATLAB releases).

References: Mittal, Moorthy, Bovik, "No-Reference Image Quality Assessment in the Spatial
Domain", IEEE TIP 2012 (``brisque_feature.m``, ``estimateggdparam.m``); Mittal, Soundararajan,
Bovik, "Making a 'Completely Blind' Image Quality Analyzer", IEEE SPL 2013
(``computefeature.m``, ``estimateaggdparam.m``). Both releases use:

- :func:`gaussian_window`: ``fspecial('gaussian', 7, 7/6)``;
- :func:`mscn`: mean-subtracted contrast-normalised coefficients (I - mu) / (sigma + 1) with
  sigma = sqrt(|E[I^2] - mu^2|), local moments from that window; NIQE filters with
  ``imfilter(..., 'replicate')``, BRISQUE with ``filter2(..., 'same')`` (zero padding); where the
  7x7 window is constant the value is fixed per grey level (:func:`flat_value`), as MATLAB's;
- :func:`gamma_grid`: the shape grid 0.2:0.001:10 of the (A)GGD moment-matching fits with
  r(alpha) = G(2/alpha)^2 / (G(1/alpha) G(3/alpha)).

Float64 throughout, as MATLAB computes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F


def gaussian_window() -> torch.Tensor:
    """``fspecial('gaussian', 7, 7/6)`` as a (1, 1, 7, 7) float64 convolution weight."""
    t = torch.arange(-3, 4, dtype=torch.float64)
    g = torch.exp(-(t**2) / (2 * (7 / 6) ** 2))
    k = torch.outer(g, g)
    return (k / k.sum()).view(1, 1, 7, 7)


Padding = Literal["replicate", "zeros"]

# MATLAB's value at a constant window of saturated white (255): measured, see flat_value.
WHITE = 255.0
WHITE_VALUE = -WHITE * 2.0**-52


def mscn(img: torch.Tensor, *, padding: Padding = "replicate") -> torch.Tensor:
    """(I - mu) / (sigma + 1) of (N, 1, H, W) images, with MATLAB's values at constant windows.

    Args:
        img: grey images (N, 1, H, W), 0-255 levels in float64.
        padding: "replicate" as NIQE's ``imfilter(..., 'replicate')``, "zeros" as BRISQUE's
            ``filter2(..., 'same')``.

    Returns:
        The MSCN coefficients, same shape as ``img``; where the 7x7 window (padding included) is
        constant, :func:`flat_value` of its level instead of the convolution's rounding noise.
    """
    k = gaussian_window().to(img)
    x = F.pad(img, (3, 3, 3, 3), mode="replicate") if padding == "replicate" else F.pad(img, (3, 3, 3, 3))
    mu = F.conv2d(x, k)
    sigma = torch.sqrt((F.conv2d(x * x, k) - mu * mu).abs())
    s = (img - mu) / (sigma + 1)
    flat = F.max_pool2d(x, 7, stride=1) == -F.max_pool2d(-x, 7, stride=1)
    return torch.where(flat, flat_value(img), s)


def flat_value(level: torch.Tensor) -> torch.Tensor:
    """The MSCN coefficient MATLAB's scripts compute where the 7x7 window is constant at ``level``.

    In exact arithmetic it is 0. Computed, (c - sum_k w_k c) / (sqrt|...| + 1) is c minus a rounded
    sum: a value of order c * 2^-52 that depends on the order of the sum, so PyTorch's convolution
    gives noise of either sign that changes with position, batch and backend, and its sign decides
    which side of the AGGD fits the products land on. MATLAB's is the same at every constant window
    of a level (one formula, one order). Measured against MATLAB runs of BRISQUE_release
    (brisque_feature.m, filter2): saturated white (255) gives a tiny negative value at both scales
    (reproduces the runs to their printed digits: 70.1863 on an image with 27 % flat windows,
    18.0734); 254 behaves as 0 (59.1851 vs 59.1843). Black is 0 in any arithmetic. Other levels
    could not be measured and take the exact value, 0. NIQE's imfilter follows the same rule
    (unmeasured; blocks that are entirely flat give NaN features and are dropped either way).
    """
    return torch.where(level == WHITE, torch.full_like(level, WHITE_VALUE), torch.zeros_like(level))


@lru_cache(maxsize=1)
def gamma_grid() -> tuple[torch.Tensor, torch.Tensor]:
    """The releases' shape grid 0.2:0.001:10 and r(alpha) = G(2/a)^2 / (G(1/a) G(3/a)), float64; cached."""
    gam = torch.tensor(np.arange(0.2, 10.0 + 1e-9, 0.001), dtype=torch.float64)
    lg = torch.lgamma
    r = torch.exp(2 * lg(2 / gam) - lg(1 / gam) - lg(3 / gam))
    return gam, r
