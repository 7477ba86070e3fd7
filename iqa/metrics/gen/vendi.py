"""Vendi score of the generated set: ``vendi_<x>``, the effective number of distinct samples.

Paper: Friedman & Dieng, "The Vendi Score: A Diversity Evaluation Metric for Machine Learning",
TMLR 2023. Reference implementation: the ``vendi-score`` package 0.0.3 (MIT),
``vendi_score.image_utils.embedding_vendi_score`` on given embeddings: cosine kernel (rows
L2-normalised), exp of the Shannon entropy (q = 1) of the eigenvalues of ``K / n``, from the
smaller Gram side. The numbers come from :func:`iqa.stats.vendi_score` (see it for the one
difference: q is honoured when n < dim, where the package always uses q = 1); parity on the same
features to 1e-9 relative (tests/stats/test_vendi.py, tests/metrics/gen/test_vendi.py).

One-sided: the value is the Vendi score of the generated set alone, higher = more diverse, between
1 (all alike) and min(n, dim). The real set is ignored (taken in every form so that the metric sits
in an ``iqa compare`` panel next to two-sided metrics; ``n_real`` is None): compute it on the real
set separately (``iqa.stats.vendi_score``) for a reference level. The names are per extractor, as
the package's embeddings are whatever model it is given (its ``get_inception_embeddings`` uses
torchvision's Inception-v3 pool features, not the FID Inception).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

from iqa.features import FeatureExtractor
from iqa.metrics.base import DataRange, DistributionResult
from iqa.metrics.distribution import PANEL_EXTRACTORS, PANEL_WEIGHTS, GeneratedSetMetric
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.stats import vendi_score


class VendiMetric(GeneratedSetMetric):
    """Vendi score (cosine kernel) of the generated set's features (subclassed per extractor).

    Args:
        extractor: feature extractor name or instance.
        q: order of the entropy: 1 (Shannon, the paper's and the package's default), inf, or any q >= 0.
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor,
        weights: str | Path | None = None,
        q: Annotated[float, Range(0)] = 1.0,
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, data_range=data_range)
        self.q = q
        self.reset()

    def compute(self) -> DistributionResult:
        """Vendi score of the accumulated generated features; higher is more diverse."""
        fake = self.gathered(real=False)
        return DistributionResult(vendi_score(fake, q=self.q), {"q": float(self.q)}, n_real=None, n_fake=len(fake))


def _make(short: str, default: str, what: str) -> None:
    @register_metric(
        MetricSpec(
            name=f"vendi_{short}",
            kind="dist",
            higher_is_better=True,
            value_range=(1.0, math.inf),
            differentiable=False,
            color="rgb",
            paper="Friedman & Dieng, 'The Vendi Score: A Diversity Evaluation Metric for Machine Learning', TMLR 2023",
            weights=PANEL_WEIGHTS[default],
            reference_impl=f"vendi-score 0.0.3 embedding_vendi_score (score_dual / score_X) on {default} features",
            tolerance="1e-9 relative to vendi-score on the same features",
            summary=f"Vendi score (diversity, cosine kernel) of the generated set alone, on {what}",
        )
    )
    class Named(VendiMetric):
        def __init__(
            self,
            *,
            extractor: str | FeatureExtractor = default,
            weights: str | Path | None = None,
            q: Annotated[float, Range(0)] = 1.0,
            data_range: DataRange = 1.0,
        ) -> None:
            super().__init__(extractor=extractor, weights=weights, q=q, data_range=data_range)

    Named.__name__ = Named.__qualname__ = f"Vendi_{short}"
    Named.__doc__ = (
        f"Vendi score of the generated set on {what}; the real set is ignored.\n\n"
        f"    Args:\n        extractor: feature extractor name or instance (default: {default}).\n"
        "        q: order of the entropy (1: Shannon, the default; inf; any q >= 0).\n"
    )
    globals()[Named.__name__] = Named


for _short, (_ext, _what) in PANEL_EXTRACTORS.items():
    _make(_short, _ext, _what)
