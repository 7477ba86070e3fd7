"""A small deterministic feature extractor for testing distribution-metric plumbing."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from iqa.features.base import FeatureExtractor


class TinyExtractor(FeatureExtractor):
    """Random fixed conv features (dim 16): cheap, deterministic, sensitive to image content."""

    name = "tiny_test"
    dim = 16

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("w", torch.randn(16, 3, 5, 5, generator=g) / 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(F.conv2d(x.float(), self.w, stride=2)).mean(dim=(2, 3))

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """10 class logits: a fixed random linear head on the 16 features (for the Inception Score)."""
        g = torch.Generator().manual_seed(1)
        head = torch.randn(10, 16, generator=g) * 4
        return features @ head.to(features.device, features.dtype).T
