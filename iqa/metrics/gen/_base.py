"""Shared plumbing of feature-based distribution metrics (not a metric itself)."""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.features import FeatureExtractor, create_extractor
from iqa.metrics.base import DistributionMetric


class FeatureDistributionMetric(DistributionMetric):
    """``update(x, real=...)`` extracts features of float images in [0, data_range]."""

    def __init__(
        self, *, extractor: str | FeatureExtractor, weights: str | Path | None = None, data_range: float = 1.0
    ) -> None:
        super().__init__(data_range=data_range)
        if isinstance(extractor, str):
            extractor = create_extractor(extractor, **({"weights": weights} if weights is not None else {}))
        elif weights is not None:
            raise InputError("pass weights only with an extractor name; an extractor instance has its own")
        if not isinstance(extractor, FeatureExtractor):
            raise InputError(f"extractor must be a name or a FeatureExtractor, got {type(extractor).__name__}")
        self.extractor = extractor.eval()

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Validated images (N, 3, H, W) in [0, data_range] -> features (N, dim), no autograd."""
        check_image(x, "x", data_range=self.data_range, channels=(3,))
        with torch.inference_mode():
            return self.extractor(x / self.data_range)

    def options(self) -> dict:
        opts = super().options()
        opts["extractor"] = self.extractor.cache_key()
        return opts
