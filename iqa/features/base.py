"""Feature-extractor interface shared by distribution metrics and explanation tools."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn


class FeatureExtractor(nn.Module):
    """Maps float images (N, 3, H, W) in [0, 1] to features (N, dim).

    Subclasses own their input path (resizing, quantisation, normalisation), so two extractors
    with the same weights but different paths are different, named extractors.

    Attributes:
        name: registry name.
        dim: feature dimension.
        spatial_layer: name of the last spatial map (for attribution), or "" if none.
    """

    name: ClassVar[str] = ""
    dim: ClassVar[int] = 0
    spatial_layer: ClassVar[str] = ""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def cache_key(self) -> str:
        """Identifies features for caching: extractor name, input path and weights."""
        return self.name
