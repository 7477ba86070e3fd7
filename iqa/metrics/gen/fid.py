"""Frechet Inception Distance: ``fid`` (pytorch-fid path), ``fid_tf`` (TF-exact) and ``fid_clean``.

Paper: Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
Equilibrium", NeurIPS 2017. Variants by input path: ``fid`` reproduces pytorch-fid 0.3.0, ``fid_tf``
torch-fidelity 0.4.0 (uint8 input, TF 1.x bilinear resize, (x - 128)/128, the TF FID graph) and
``fid_clean`` clean-fid's PIL-bicubic resize (Parmar et al., "On Aliased Resizing and Surprising
Subtleties in GAN Evaluation", CVPR 2022).

Pipeline (:class:`iqa.metrics.distribution.FrechetMetric`, numbers from :mod:`iqa.stats`):
FID-Inception pool3 features -> float64 mean and unbiased covariance (merged batch by batch,
exactly) -> Frechet distance via a symmetric eigenvalue route (``method="scipy"`` reproduces
pytorch-fid's ``sqrtm`` path). Reference statistics can be given once (``set_reference``,
pytorch-fid ``.npz``) and reused.
"""

from __future__ import annotations

import math
from pathlib import Path

from iqa.features import FeatureExtractor
from iqa.metrics.base import DataRange
from iqa.metrics.distribution import FrechetMetric
from iqa.registry import MetricSpec, register_metric
from iqa.stats import FrechetMethod

_PAPER = (
    "Heusel et al., 'GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium', NeurIPS 2017"
)


def _spec(name: str, reference_impl: str, tolerance: str, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="dist",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=False,
        color="rgb",
        paper=_PAPER,
        reference_impl=reference_impl,
        tolerance=tolerance,
        weights=("fid_inception_v3_pt",),
        summary=summary,
    )


@register_metric(
    _spec(
        "fid",
        "pytorch-fid 0.3.0 (InceptionV3 pool3, bilinear 299, 2x-1, np.cov, sqrtm)",
        "features bit-identical to pytorch-fid on a shared random state dict; Frechet distance 1e-12 relative to the sqrtm route",
        "Frechet Inception Distance, pytorch-fid input path",
    )
)
class FID(FrechetMetric):
    """FID with pytorch-fid's input path (see module docstring).

    Args:
        extractor: feature extractor name or instance (default: FID Inception, pytorch-fid's input path).
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor = "inception_v3_fid",
        weights: str | Path | None = None,
        method: FrechetMethod = "eigh",
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, method=method, data_range=data_range)


@register_metric(
    _spec(
        "fid_tf",
        "torch-fidelity 0.4.0 (uint8, TF1 bilinear 299, (x-128)/128) = the TF FID graph",
        "features within 1e-4 of torch-fidelity's extractor on a shared random state dict (TF1 resize op order)",
        "Frechet Inception Distance, TF-exact input path (torch-fidelity)",
    )
)
class FIDTF(FrechetMetric):
    """FID with the TF-exact input path (see module docstring).

    Args:
        extractor: feature extractor name or instance (default: FID Inception, TF-exact input path).
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor = "inception_v3_fid_tf",
        weights: str | Path | None = None,
        method: FrechetMethod = "eigh",
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, method=method, data_range=data_range)


@register_metric(
    _spec(
        "fid_clean",
        "clean-fid 0.1.35 mode='clean' (PIL bicubic float resize to 299, (x-128)/128, TF FID graph)",
        "resized pixels equal clean-fid's resizer to 1e-4 (same Pillow call); network as fid_tf",
        "Frechet Inception Distance, clean-fid's antialiased resize",
    )
)
class FIDClean(FrechetMetric):
    """FID with clean-fid's resize (see module docstring).

    Args:
        extractor: feature extractor name or instance (default: FID Inception, clean-fid's resize).
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor = "inception_v3_fid_clean",
        weights: str | Path | None = None,
        method: FrechetMethod = "eigh",
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, method=method, data_range=data_range)
