"""Distortion registry, strength interpolation, seeding and the small filters the families share.

A distortion is a function ``fn(x, p, g) -> y`` on float64 images (N, 3, H, W) in [0, 1], where
``p`` is its parameter (blur sigma, JPEG quality...) and ``g`` a per-image ``torch.Generator``
(batches are processed image by image, so an image's result depends on its seed only).
The five KADID-style levels are five parameter values; a continuous ``strength`` s in [0, 1]
interpolates between them piecewise linearly with level k at s = k/5 and the identity at s = 0
(``log_interp`` interpolates log p, for parameters such as compression ratios).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from iqa.registry import Registry

DistortFn = Callable[[torch.Tensor, float, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class DistortionSpec:
    """One distortion type: its KADID-10k number and family, parameter and level table."""

    name: str
    kadid_id: int
    family: str
    fn: DistortFn
    param: str
    identity: float
    levels: tuple[float, float, float, float, float]
    summary: str
    log_interp: bool = False
    per_image: bool = True  # False: fn handles the batch itself

    def parameter(self, strength: float) -> float:
        """The parameter at continuous strength s in [0, 1] (level k is s = k/5)."""
        pts = (self.identity, *self.levels)
        t = min(max(strength, 0.0), 1.0) * 5
        i = min(int(t), 4)
        a, b, w = pts[i], pts[i + 1], t - i
        if self.log_interp:
            return math.exp((1 - w) * math.log(a) + w * math.log(b))
        return (1 - w) * a + w * b


DISTORTIONS: Registry[DistortionSpec] = Registry("distortion")


def register(spec: DistortionSpec) -> DistortionSpec:
    """Add a distortion type under ``spec.name`` (a second one under the same name is an error)."""
    return DISTORTIONS.add(spec.name, spec)


def image_generator(seed: int, index: int) -> torch.Generator:
    """The random stream of image ``index`` of a batch distorted with ``seed``."""
    return torch.Generator().manual_seed((seed * 1_000_003 + index) % (2**63))


def gaussian_kernel(sigma: float) -> torch.Tensor:
    r = max(1, math.ceil(3 * sigma))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    k = torch.exp(-(t**2) / (2 * max(sigma, 1e-6) ** 2))
    return k / k.sum()


def blur_separable(x: torch.Tensor, k1: torch.Tensor) -> torch.Tensor:
    """Separable filtering with replicated borders (MATLAB ``imfilter(..., 'replicate')``)."""
    c, r = x.shape[1], len(k1) // 2
    k1 = k1.to(x)
    y = F.conv2d(F.pad(x, (r, r, 0, 0), mode="replicate"), k1.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), k1.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def filter2d(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Correlation with a 2-D kernel, replicated borders; in float32 (float64 convolutions are ~20x
    slower on CPU, and 1e-7 relative error is far below the 8-bit output's resolution).
    """
    c, r = x.shape[1], k.shape[-1] // 2
    k32 = k.to(torch.float32).view(1, 1, *k.shape).expand(c, 1, *k.shape)
    return F.conv2d(F.pad(x.float(), (r, r, r, r), mode="replicate"), k32, groups=c).to(x.dtype)


def uniform(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=g, dtype=torch.float64)


def normal(g: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=g, dtype=torch.float64)


def area_scale(x: torch.Tensor) -> float:
    """Image area relative to KADID's 512x384, for counts defined per KADID image."""
    return x.shape[-1] * x.shape[-2] / (512 * 384)
