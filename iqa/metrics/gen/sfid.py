"""Spatial FID (``sfid``): the Frechet distance on the ADM evaluator's spatial Inception features.

Paper: Nash, Menick, Dieleman, Battaglia, "Generating images with sparse representations", ICML 2021
(sFID); the numbers in the diffusion literature come from the ADM evaluator (Dhariwal & Nichol,
"Diffusion Models Beat GANs on Image Synthesis", NeurIPS 2021; openai/guided-diffusion
``evaluations/evaluator.py``, MIT), which this reproduces:

- features: TF's ``mixed_6/conv:0`` of the 2015 FID Inception graph (Mixed_6d's 1x1 branch, after
  its ReLU), channels 0-6 of the 17x17 map, flattened in NHWC order: 2023-d, coordinate by
  coordinate those of the ADM reference batches' ``mu_s`` / ``sigma_s`` (extractor
  ``inception_v3_fid_tf_spatial7``, see :mod:`iqa.features.inception`);
- input: the evaluator feeds uint8 images (any size) as float32 to the graph's ``ExpandDims:0``,
  so the graph's TF1 ``ResizeBilinear`` to 299 and ``(x - 128) / 128`` run: the TF-exact input path
  (torch-fidelity's, ``fid_tf``'s);
- statistics: mean and ``np.cov`` (N - 1) covariance; distance: TTUR's formula with
  ``scipy.linalg.sqrtm`` (``method="scipy"``; the default eigenvalue route agrees to ~1e-9 relative).

Reference statistics are given as :class:`~iqa.stats.GaussianStats` (``set_reference`` or
``update_stats``), e.g. an ADM reference batch's ``mu_s`` / ``sigma_s``. Parity: the TF graph cannot
run here; the feature slice is tested against an independent transcription of the evaluator's
definition (NHWC map, ``[..., :7]``, ``reshape(N, -1)``) on shared random Inception weights.
"""

from __future__ import annotations

import math
from pathlib import Path

from iqa.features import FeatureExtractor
from iqa.metrics.base import DataRange
from iqa.metrics.distribution import FrechetMetric
from iqa.registry import MetricSpec, register_metric
from iqa.stats import FrechetMethod


@register_metric(
    MetricSpec(
        name="sfid",
        kind="dist",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=False,
        color="rgb",
        paper="Nash et al., 'Generating images with sparse representations', ICML 2021",
        reference_impl="ADM evaluator (openai/guided-diffusion evaluations/evaluator.py): mixed_6/conv[..., :7], 2023-d",
        tolerance=(
            "features equal an NHWC transcription of the ADM slice on shared random weights (1e-6); "
            "TF-path pool3 within 1e-4 of torch-fidelity; Frechet distance 1e-9 relative to the ADM formula"
        ),
        weights=("fid_inception_v3_pt",),
        summary="Spatial FID: Frechet distance on the ADM evaluator's mixed_6/conv features (7 x 17 x 17)",
    )
)
class SFID(FrechetMetric):
    """sFID as the ADM evaluator computes it (see module docstring).

    Args:
        extractor: feature extractor name or instance (default: the ADM evaluator's 2023-d spatial features).
    """

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor = "inception_v3_fid_tf_spatial7",
        weights: str | Path | None = None,
        method: FrechetMethod = "eigh",
        data_range: DataRange = 1.0,
    ) -> None:
        super().__init__(extractor=extractor, weights=weights, method=method, data_range=data_range)
