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


class FeatureSetMetric(FeatureDistributionMetric):
    """Keeps every feature vector of both sets (for kernel metrics such as KID and CMMD)."""

    normalize_features = False  # L2-normalise features before storing them

    def reset(self) -> None:
        self._real: list[torch.Tensor] = []
        self._fake: list[torch.Tensor] = []

    def update(self, x: torch.Tensor, *, real: bool) -> None:
        """Add a batch of images (N, 3, H, W) in [0, data_range] to the real or generated set."""
        self.update_features(self.features(x), real=real)

    def update_features(self, features: torch.Tensor, *, real: bool) -> None:
        """Add precomputed features (N, dim), e.g. from a cache."""
        f = features.detach().to("cpu", torch.float64)
        if self.normalize_features:
            f = f / f.norm(dim=-1, keepdim=True).clamp_min(1e-12)
        (self._real if real else self._fake).append(f)

    def gathered(self, real: bool) -> torch.Tensor:
        """All features of one set, from every rank under torch.distributed, in rank order."""
        from iqa.metrics.gen._sync import gather_features

        parts = self._real if real else self._fake
        if not parts:
            raise InputError(
                f"{type(self).__name__} has no {'real' if real else 'generated'} images: "
                f"call update(x, real={real}) for both sets"
            )
        return gather_features(torch.cat(parts))
