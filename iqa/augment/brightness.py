"""Brightness changes (KADID-10k types 16-18): tone curves on CIELAB lightness, and a mean shift."""

from __future__ import annotations

import torch

from iqa.augment._core import DistortionSpec, register, uniform
from iqa.transforms.colorspaces import lab_to_rgb, rgb_to_lab


def _lightness_gamma(x: torch.Tensor, gamma: float) -> torch.Tensor:
    lab = rgb_to_lab(x)
    lab[:, 0] = 100 * (lab[:, 0].clamp(0, 100) / 100) ** gamma
    return lab_to_rgb(lab)


def brighten(x: torch.Tensor, a: float, g: torch.Generator) -> torch.Tensor:
    return _lightness_gamma(x, 1 / (1 + a))


def darken(x: torch.Tensor, a: float, g: torch.Generator) -> torch.Tensor:
    return _lightness_gamma(x, 1 + a)


def mean_shift(x: torch.Tensor, d: float, g: torch.Generator) -> torch.Tensor:
    sign = 1.0 if float(uniform(g, 1)) < 0.5 else -1.0
    return x + sign * d


register(
    DistortionSpec(
        "brighten",
        16,
        "brightness",
        brighten,
        "a in L^(1/(1+a))",
        0.0,
        (0.1, 0.2, 0.4, 0.7, 1.1),
        "concave tone curve on CIELAB L",
    )
)
register(
    DistortionSpec(
        "darken",
        17,
        "brightness",
        darken,
        "a in L^(1+a)",
        0.0,
        (0.05, 0.1, 0.2, 0.4, 0.8),
        "convex tone curve on CIELAB L",
    )
)
register(DistortionSpec("mean_shift", 18, "brightness", mean_shift, "shift", 0.0, (0.04, 0.08, 0.12, 0.16, 0.2),
                        "constant added to RGB, random sign per image, clipped"))  # fmt: skip
