"""k-NN manifold metrics: ``precision_<x>``, ``recall_<x>``, ``density_<x>``, ``coverage_<x>``.

Papers: Kynkaanniemi, Karras, Laine, Lehtinen, Aila, "Improved Precision and Recall Metric for
Assessing Generative Models", NeurIPS 2019 (precision: share of generated samples inside the real
set's k-NN balls; recall: share of real samples inside the generated set's; k = 3). Naeem, Oh, Uh,
Choi, Yoo, "Reliable Fidelity and Diversity Metrics for Generative Models", ICML 2020 (density:
how many real balls hold each generated sample, over k; coverage: share of real balls holding a
generated sample; k = 5). Higher is better for all four; density is about 1 when the sets match
and can exceed 1.

Reference implementations, reproduced on the same features (tests/stats/test_knn.py,
tests/metrics/gen/test_prdc.py): the ``prdc`` package 0.2 (``compute_prdc(real, fake,
nearest_k)``, the density/coverage authors' code, MIT) for all four, and torch-fidelity 0.4.0
``prc_features_to_metric(generated, real)`` (Apache-2.0) for precision/recall. The numbers come from
:mod:`iqa.stats.knn` (exact float64 decisions, memory-bounded chunks; see it for the distance
route and the boundary rule: ``ball='closed'``, ``<=``, as the precision/recall authors' code and
torch-fidelity; ``ball='open'``, ``<``, as ``prdc`` at ties). The option ``k`` is ``prdc``'s
``nearest_k`` and torch-fidelity's ``prc_neighborhood``.

Feature spaces: each name is per extractor (``precision_inception`` is precision on FID-Inception
pool3 features); there is no bare ``precision``, because peers differ. The papers and torch-fidelity
use VGG16: torch-fidelity's ``prc`` defaults to ``feature_extractor='vgg16'``, layer ``fc2_relu``
(torchvision VGG16 ``IMAGENET1K_V1``, uint8 input resized to 224 with TF1-style bilinear
interpolation, ImageNet mean/std normalisation, 4096-d after the second fully connected layer and
its ReLU; ``prc_neighborhood=3``, ``prc_batch_size=10000``); that extractor is not in iqa, so pass
VGG16 features yourself (``update_features``) to reproduce those numbers (``prdc`` takes features
only). ``precision_inception`` etc. use the FID Inception's pool3 on pytorch-fid's input path.
``precision_efficientnet_lite0`` runs offline (its weights ship with iqa's dependencies).

Every generated and real feature vector is kept (float64, as KID); ``compute()`` reports the value
with ``extras["k"]``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, ClassVar

import torch

from iqa.features import FeatureExtractor
from iqa.metrics.base import DataRange, DistributionResult
from iqa.metrics.distribution import PANEL_EXTRACTORS, PANEL_WEIGHTS, FeatureSetMetric
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.stats.knn import Ball, Metric, knn_metrics

#: metric -> (default k, paper, what it measures)
METRICS: dict[Metric, tuple[int, str, str]] = {
    "precision": (
        3,
        "Kynkaanniemi et al., NeurIPS 2019",
        "share of generated samples inside the real set's k-NN balls",
    ),
    "recall": (3, "Kynkaanniemi et al., NeurIPS 2019", "share of real samples inside the generated set's k-NN balls"),
    "density": (5, "Naeem et al., ICML 2020", "real k-NN balls holding each generated sample, over k (mean)"),
    "coverage": (5, "Naeem et al., ICML 2020", "share of real k-NN balls holding a generated sample"),
}


def _compact(x: torch.Tensor) -> torch.Tensor:
    """float32 when that loses nothing (network features are float32): half the memory, same numbers."""
    f = x.to(torch.float32)
    return f if torch.equal(f.to(x.dtype), x) else x


class KNNMetric(FeatureSetMetric):
    """One of the four k-NN manifold metrics on the features of one extractor (subclassed per name).

    Args:
        extractor: feature extractor name or instance.
        k: neighbourhood size (``nearest_k`` in ``prdc``, ``prc_neighborhood`` in torch-fidelity);
            the set whose balls are used needs more than k samples.
        ball: 'closed' (``<=``, the authors' precision/recall code, torch-fidelity) or 'open'
            (``<``, ``prdc``); they differ only at exact ties (duplicated samples).
    """

    metric: ClassVar[Metric] = "precision"

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor,
        weights: str | Path | None = None,
        k: Annotated[int, Range(1)] = 3,
        ball: Ball = "closed",
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, data_range=data_range)
        self.k, self.ball = k, ball
        self.reset()

    def compute(self) -> DistributionResult:
        """The metric between the accumulated real and generated features; higher is better."""
        fake = _compact(self.gathered(real=False))
        real = _compact(self.gathered(real=True)).to(fake.device)
        value = knn_metrics(real=real, fake=fake, k=self.k, which=(self.metric,), ball=self.ball)[self.metric]
        return DistributionResult(value, {"k": float(self.k)}, n_real=len(real), n_fake=len(fake))


def _spec(metric: Metric, short: str, extractor: str, what: str) -> MetricSpec:
    k, paper, measures = METRICS[metric]
    return MetricSpec(
        name=f"{metric}_{short}",
        kind="dist",
        higher_is_better=True,
        value_range=(0.0, math.inf) if metric == "density" else (0.0, 1.0),
        differentiable=False,
        color="rgb",
        paper=paper,
        weights=PANEL_WEIGHTS[extractor],
        reference_impl="prdc 0.2 compute_prdc"
        + (" and torch-fidelity 0.4.0 prc_features_to_metric" if metric in ("precision", "recall") else "")
        + f", nearest_k={k}, on {extractor} features",
        tolerance="equal counts (1e-12) on the same features; the boundary rule (ball) matters only at exact ties",
        summary=f"{metric.capitalize()} (k={k}): {measures}, on {what}",
    )


def _make(metric: Metric, short: str, default: str, what: str) -> None:
    k_default = METRICS[metric][0]

    @register_metric(_spec(metric, short, default, what))
    class Named(KNNMetric):
        def __init__(
            self,
            *,
            extractor: str | FeatureExtractor = default,
            weights: str | Path | None = None,
            k: Annotated[int, Range(1)] = k_default,
            ball: Ball = "closed",
            data_range: DataRange = 1.0,
        ) -> None:
            super().__init__(extractor=extractor, weights=weights, k=k, ball=ball, data_range=data_range)

    Named.metric = metric
    Named.__name__ = Named.__qualname__ = f"{metric.capitalize()}_{short}"
    Named.__doc__ = (
        f"{metric.capitalize()} ({METRICS[metric][1]}) on {what}: {METRICS[metric][2]}.\n\n"
        f"    Args:\n        extractor: feature extractor name or instance (default: {default}).\n"
        f"        k: neighbourhood size, ``nearest_k`` (default {k_default}); the set whose balls are used "
        "needs more than k samples.\n"
        "        ball: 'closed' (``<=``, torch-fidelity, the authors' precision/recall code) or 'open' (``<``, prdc).\n"
    )
    globals()[Named.__name__] = Named


for _short, (_ext, _what) in PANEL_EXTRACTORS.items():
    for _metric in METRICS:
        _make(_metric, _short, _ext, _what)
