"""Blurs (KADID-10k types 01-03): gaussian, lens (disk) and motion (line) blur."""

from __future__ import annotations

import math

import torch

from iqa.augment._core import DistortionSpec, blur_separable, filter2d, gaussian_kernel, register, uniform


def gaussian_blur(x: torch.Tensor, sigma: float, g: torch.Generator) -> torch.Tensor:
    return blur_separable(x, gaussian_kernel(sigma))


def disk_kernel(radius: float, supersample: int = 8) -> torch.Tensor:
    """Area of each pixel inside a disk of ``radius`` (supersampled), normalised; fractional radii work."""
    r = max(1, math.ceil(radius))
    t = (torch.arange((2 * r + 1) * supersample, dtype=torch.float64) + 0.5) / supersample - (r + 0.5)
    inside = (t.view(-1, 1) ** 2 + t.view(1, -1) ** 2 <= max(radius, 0.5) ** 2).double()
    k = inside.view(2 * r + 1, supersample, 2 * r + 1, supersample).mean((1, 3))
    return k / k.sum()


def line_kernel(length: float, angle: float, step: float = 0.05) -> torch.Tensor:
    """A centred line of ``length`` pixels at ``angle`` radians, splatted bilinearly."""
    r = max(1, math.ceil(length / 2) + 1)
    t = torch.linspace(-(length - 1) / 2, (length - 1) / 2, max(2, int(length / step)), dtype=torch.float64)
    px, py = r + t * math.cos(angle), r - t * math.sin(angle)
    x0, y0 = px.floor(), py.floor()
    fx, fy = px - x0, py - y0
    k = torch.zeros(2 * r + 1, 2 * r + 1, dtype=torch.float64)
    for dy, wy in ((0, 1 - fy), (1, fy)):
        for dx, wx in ((0, 1 - fx), (1, fx)):
            k.index_put_(((y0 + dy).long(), (x0 + dx).long()), wx * wy, accumulate=True)
    return k / k.sum()


def lens_blur(x: torch.Tensor, radius: float, g: torch.Generator) -> torch.Tensor:
    return filter2d(x, disk_kernel(radius))


def motion_blur(x: torch.Tensor, length: float, g: torch.Generator) -> torch.Tensor:
    angle = float(uniform(g, 1)) * math.pi  # one direction per image, drawn first so levels share it
    return filter2d(x, line_kernel(length, angle))


register(
    DistortionSpec(
        "gaussian_blur",
        1,
        "blur",
        gaussian_blur,
        "sigma (px)",
        0.0,
        (0.5, 1.0, 2.0, 3.5, 5.0),
        "separable gaussian, replicated borders",
    )
)
register(
    DistortionSpec(
        "lens_blur",
        2,
        "blur",
        lens_blur,
        "disk radius (px)",
        0.0,
        (1.0, 2.0, 4.0, 6.0, 8.0),
        "uniform disk (defocus) kernel, supersampled for fractional radii",
    )
)
register(DistortionSpec("motion_blur", 3, "blur", motion_blur, "line length (px)", 1.0, (3.0, 5.0, 9.0, 13.0, 21.0),
                        "line kernel at a random angle per image"))  # fmt: skip
