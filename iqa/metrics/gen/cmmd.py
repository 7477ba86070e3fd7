"""CMMD: MMD between CLIP embeddings with a Gaussian RBF kernel (sigma = 10), times 1000.

Paper: Jayasumana et al., "Rethinking FID: Towards a Better Evaluation Metric for Image
Generation", CVPR 2024. Reference implementation: google-research ``cmmd/`` (``distance.py::mmd``,
``io_util.py``, ``embedding.py``); PyTorch port sayakpaul/cmmd-pytorch.

The reference formula is the biased (V-statistic) MMD^2: all pairs, diagonal included; it is
the default here for parity (``estimator="unbiased"`` drops i == j, as the paper's text says).
The reference drops images after the last full batch (``drop_remainder=True`` in tf.data): pass
``reference_batch_size=32`` to reproduce that; by default every image counts. The kernel sums
run in float64 blocks, so 30k x 30k embeddings never allocate a 30k^2 matrix.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from iqa.errors import InputError
from iqa.features import FeatureExtractor
from iqa.metrics.gen._base import FeatureSetMetric
from iqa.metrics.gen._stats import mmd2_rbf
from iqa.registry import MetricSpec, register_metric


def cmmd_from_embeddings(
    x: torch.Tensor, y: torch.Tensor, *, sigma: float = 10.0, scale: float = 1000.0, estimator: str = "biased"
) -> torch.Tensor:
    """CMMD of two embedding sets (n, d) and (m, d): ``scale * MMD^2`` with an RBF kernel."""
    if estimator not in ("biased", "unbiased"):
        raise InputError(f"estimator must be 'biased' or 'unbiased', got {estimator!r}")
    return scale * mmd2_rbf(x, y, sigma=sigma, biased=estimator == "biased")


@register_metric(
    MetricSpec(
        name="cmmd",
        kind="dist",
        higher_is_better=False,
        value_range=(-math.inf, math.inf),
        differentiable=False,
        color="rgb",
        paper="Jayasumana et al., 'Rethinking FID: Towards a Better Evaluation Metric for Image Generation', CVPR 2024",
        reference_impl="google-research cmmd/distance.py::mmd (biased) with cmmd/io_util.py preprocessing",
        tolerance="1e-6 relative to a direct float64 evaluation of the reference formula on the same embeddings",
        weights=("clip_vit_l14_336_openai",),
        summary="CLIP-embedding MMD (RBF sigma 10, x1000), CMMD reference preprocessing",
    )
)
class CMMD(FeatureSetMetric):
    """CMMD on CLIP ViT-L/14@336 embeddings (see module docstring).

    ``clip_model`` picks another OpenAI tower by open_clip name (e.g. ``"ViT-B-32"``) with the
    same CMMD preprocessing; ``extractor`` takes any extractor name or instance instead.
    """

    normalize_features = True  # the reference L2-normalises CLIP embeddings

    def __init__(
        self,
        *,
        extractor: str | FeatureExtractor = "clip_vit_l14_336_cmmd",
        clip_model: str | None = None,
        weights: str | Path | None = None,
        estimator: str = "biased",
        reference_batch_size: int | None = None,
        data_range: float = 1.0,
    ) -> None:
        if clip_model is not None:
            if extractor != "clip_vit_l14_336_cmmd":
                raise InputError("pass clip_model or extractor, not both")
            from iqa.features.clip import CLIPImage

            extractor, weights = CLIPImage(model_name=clip_model, preprocess="cmmd", weights=weights), None
        super().__init__(extractor=extractor, weights=weights, data_range=data_range)
        if estimator not in ("biased", "unbiased"):
            raise InputError(f"estimator must be 'biased' or 'unbiased', got {estimator!r}")
        if reference_batch_size is not None and reference_batch_size < 1:
            raise InputError(f"reference_batch_size must be >= 1, got {reference_batch_size}")
        self.estimator, self.reference_batch_size = estimator, reference_batch_size
        self.reset()

    def _set(self, real: bool) -> torch.Tensor:
        e = self.gathered(real)
        if self.reference_batch_size:
            e = e[: len(e) // self.reference_batch_size * self.reference_batch_size]
            if len(e) == 0:
                raise InputError(f"fewer images than reference_batch_size={self.reference_batch_size}")
        return e

    def compute(self) -> torch.Tensor:
        return cmmd_from_embeddings(self._set(True), self._set(False), estimator=self.estimator)
