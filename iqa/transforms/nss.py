"""Natural-scene-statistics building blocks shared by NIQE and BRISQUE (the LIVE MATLAB releases).

References: Mittal, Moorthy, Bovik, "No-Reference Image Quality Assessment in the Spatial
Domain", IEEE TIP 2012 (``brisque_feature.m``, ``estimateggdparam.m``); Mittal, Soundararajan,
Bovik, "Making a 'Completely Blind' Image Quality Analyzer", IEEE SPL 2013
(``computefeature.m``, ``estimateaggdparam.m``). Both releases use:

- :func:`gaussian_window`: ``fspecial('gaussian', 7, 7/6)``;
- :func:`mscn`: mean-subtracted contrast-normalised coefficients (I - mu) / (sigma + 1) with
  sigma = sqrt(|E[I^2] - mu^2|), local moments from that window; NIQE filters with
  ``imfilter(..., 'replicate')``, BRISQUE with ``filter2(..., 'same')`` (zero padding);
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


def mscn(img: torch.Tensor, *, padding: Literal["replicate", "zeros"] = "replicate") -> torch.Tensor:
    """(I - mu) / (sigma + 1) of (N, 1, H, W) images.

    Args:
        img: grey images (N, 1, H, W), usually 0-255 levels in float64.
        padding: "replicate" as NIQE's ``imfilter(..., 'replicate')``, "zeros" as BRISQUE's
            ``filter2(..., 'same')``.

    Returns:
        The MSCN coefficients, same shape as ``img``.
    """
    k = gaussian_window().to(img)
    if padding == "replicate":
        pad = lambda t: F.pad(t, (3, 3, 3, 3), mode="replicate")  # noqa: E731
        mu = F.conv2d(pad(img), k)
        second = F.conv2d(pad(img * img), k)
    else:
        mu = F.conv2d(img, k, padding=3)
        second = F.conv2d(img * img, k, padding=3)
    sigma = torch.sqrt((second - mu * mu).abs())
    return (img - mu) / (sigma + 1)


@lru_cache(maxsize=1)
def gamma_grid() -> tuple[torch.Tensor, torch.Tensor]:
    """The releases' shape grid 0.2:0.001:10 and r(alpha) = G(2/a)^2 / (G(1/a) G(3/a)), float64; cached."""
    gam = torch.tensor(np.arange(0.2, 10.0 + 1e-9, 0.001), dtype=torch.float64)
    lg = torch.lgamma
    r = torch.exp(2 * lg(2 / gam) - lg(1 / gam) - lg(3 / gam))
    return gam, r
