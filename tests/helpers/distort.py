"""Deterministic distortions for property tests (increasing strength)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def noisy(x: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    n = torch.randn(x.shape, generator=g, dtype=torch.float32).to(
        device=x.device, dtype=x.dtype
    )  # CPU draw: same noise on every device
    return (x + sigma * n).clamp(0, 1)


def blurred(x: torch.Tensor, radius: int) -> torch.Tensor:
    if radius == 0:
        return x.clone()
    k = 2 * radius + 1
    return F.avg_pool2d(F.pad(x, [radius] * 4, mode="replicate"), k, stride=1)
