"""Noise (KADID-10k types 11-15). Each image draws its noise field once from its generator, and the
level only scales it, so a higher level adds strictly more of the same noise.
"""

from __future__ import annotations

import torch

from iqa.augment._core import DistortionSpec, blur_separable, gaussian_kernel, normal, register, uniform
from iqa.transforms.colorspaces import rgb_to_ycbcr, ycbcr_to_rgb


def white_noise(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    return x + sigma * normal(g, *x.shape)


def white_noise_color(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    weights = torch.tensor([0.5, 1.0, 1.0], dtype=x.dtype).view(1, 3, 1, 1)  # mostly chroma noise
    return ycbcr_to_rgb(rgb_to_ycbcr(x) + sigma * weights * normal(g, *x.shape))


def impulse_noise(x: torch.Tensor, density: float, g: torch.Generator) -> torch.Tensor:
    hit, salt = uniform(g, 1, 1, *x.shape[2:]), uniform(g, 1, 1, *x.shape[2:]) < 0.5
    return torch.where(hit < density, salt.to(x.dtype).expand_as(x), x)


def multiplicative_noise(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    return x * (1 + sigma * normal(g, *x.shape))


def denoise(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    """Noise then a gaussian denoiser matched to it: residual noise plus over-smoothing."""
    return blur_separable(x + sigma * normal(g, *x.shape), gaussian_kernel(0.5 + 12 * sigma))


register(
    DistortionSpec(
        "white_noise",
        11,
        "noise",
        white_noise,
        "noise std",
        0.0,
        (0.0316, 0.0447, 0.0548, 0.0707, 0.1),
        "additive gaussian noise in RGB (KADID variances 0.001-0.01)",
    )
)
register(
    DistortionSpec(
        "white_noise_color",
        12,
        "noise",
        white_noise_color,
        "chroma noise std",
        0.0,
        (0.02, 0.035, 0.05, 0.07, 0.1),
        "gaussian noise in YCbCr, half strength on Y",
    )
)
register(
    DistortionSpec(
        "impulse_noise",
        13,
        "noise",
        impulse_noise,
        "density",
        0.0,
        (0.005, 0.01, 0.02, 0.035, 0.05),
        "salt and pepper on whole pixels",
    )
)
register(
    DistortionSpec(
        "multiplicative_noise",
        14,
        "noise",
        multiplicative_noise,
        "speckle std",
        0.0,
        (0.032, 0.071, 0.1, 0.141, 0.224),
        "speckle x (1 + n)",
    )
)
register(DistortionSpec("denoise", 15, "noise", denoise, "noise std before denoising", 0.0, (0.03, 0.045, 0.055, 0.07, 0.1),
                        "gaussian noise removed by a gaussian filter of sigma 0.5 + 12 std"))  # fmt: skip
