"""Sharpness and contrast (KADID-10k types 24-25)."""

from __future__ import annotations

import torch

from iqa.augment._core import DistortionSpec, blur_separable, gaussian_kernel, register


def high_sharpen(x: torch.Tensor, amount: float, g: torch.Generator) -> torch.Tensor:
    return x + amount * (x - blur_separable(x, gaussian_kernel(1.0)))


def contrast_change(x: torch.Tensor, factor: float, g: torch.Generator) -> torch.Tensor:
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return mean + (x - mean) * factor


register(
    DistortionSpec(
        "high_sharpen",
        24,
        "sharpness_contrast",
        high_sharpen,
        "unsharp-mask amount",
        0.0,
        (0.5, 1.0, 2.0, 3.5, 5.0),
        "unsharp masking with a sigma-1 gaussian",
    )
)
register(DistortionSpec("contrast_change", 25, "sharpness_contrast", contrast_change, "contrast factor", 1.0, (0.8, 0.65, 0.5, 0.35, 0.2),
                        "contrast reduced towards the image mean"))  # fmt: skip
