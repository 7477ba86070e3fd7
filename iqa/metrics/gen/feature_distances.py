"""Frechet and MMD distances over other feature extractors: ``fd_<extractor>``, ``mmd_<extractor>``.

``fd_<x>`` is FID's pipeline (float64 statistics, Frechet distance) on extractor ``x``;
``mmd_<x>`` is CMMD's formula (Gaussian RBF, sigma 10, x1000, biased by default) on
L2-normalised features of ``x``. References: Heusel et al. 2017 (Frechet distance), Jayasumana et
al. 2024 (CMMD), Kynkaanniemi et al., "The Role of ImageNet Classes in Frechet Inception
Distance", ICLR 2023 (why a second feature space is worth having). ``fd_efficientnet_lite0`` runs
offline with real ImageNet weights (a dependency of iqa). ``fd_dinov2`` is FD_DINOv2 of Stein et
al., "Exposing flaws of generative model evaluation metrics and their unfair treatment of
diffusion models", NeurIPS 2023: DINOv2 ViT-L/14 CLS features on dgm-eval's input path
(:mod:`iqa.features.dinov2`), dgm-eval's ``metrics/fd.py`` formula (pytorch-fid's).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

from iqa.features import FeatureExtractor
from iqa.metrics.base import DataRange
from iqa.metrics.distribution import FrechetMetric, MMDEstimator, RBFMMDMetric
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.stats import FrechetMethod

EXTRACTORS = {
    "efficientnet_lite0": ("efficientnet_lite0", "ImageNet EfficientNet-Lite0 pooled features (1280-d)"),
    "clip_vit_l14_336": ("clip_vit_l14_336_cmmd", "CLIP ViT-L/14@336 embeddings with CMMD preprocessing (768-d)"),
    "clip_vit_b32": ("clip_vit_b32", "OpenAI CLIP ViT-B/32 embeddings, OpenAI preprocessing (512-d)"),
    "clip_vit_b16": ("clip_vit_b16", "OpenAI CLIP ViT-B/16 embeddings, OpenAI preprocessing (512-d)"),
    "clip_vit_l14": ("clip_vit_l14", "OpenAI CLIP ViT-L/14 embeddings, OpenAI preprocessing (768-d)"),
    "dinov2": ("dinov2_vitl14", "DINOv2 ViT-L/14 CLS features, dgm-eval preprocessing (1024-d)"),
}
WEIGHTS = {
    "efficientnet_lite0": ("efficientnet_lite0",),
    "clip_vit_l14_336_cmmd": ("clip_vit_l14_336_openai",),
    "clip_vit_b32": ("clip_vit_b32_openai",),
    "clip_vit_b16": ("clip_vit_b16_openai",),
    "clip_vit_l14": ("clip_vit_l14_openai",),
    "dinov2_vitl14": ("dinov2_vitl14",),  # manifest entry with hash_unpublished (Meta publishes none)
}
#: (paper, reference implementation) of an FD variant that is a published metric of its own.
PUBLISHED_FD = {
    "dinov2_vitl14": (
        "Stein et al., 'Exposing flaws of generative model evaluation metrics and their unfair treatment "
        "of diffusion models', NeurIPS 2023 (FD_DINOv2)",
        "layer6ai-labs/dgm-eval (models/dinov2.py transform, metrics/fd.py) on the hub dinov2_vitl14",
    ),
}


def _spec(name: str, what: str, extractor: str, frechet: bool) -> MetricSpec:
    if frechet:
        paper, reference = PUBLISHED_FD.get(
            extractor,
            (
                "Frechet distance (Dowson & Landau 1982) as in FID, Heusel et al. 2017",
                "the fid pipeline (pytorch-fid statistics and Frechet distance) on another extractor",
            ),
        )
    else:
        paper = "Jayasumana et al., CVPR 2024 (CMMD formula)"
        reference = "cmmd/distance.py::mmd on L2-normalised features of another extractor"
    return MetricSpec(
        name=name,
        kind="dist",
        higher_is_better=False,
        value_range=(0.0, math.inf) if frechet else (-math.inf, math.inf),
        differentiable=False,
        color="rgb",
        paper=paper,
        weights=WEIGHTS[extractor],
        reference_impl=reference,
        tolerance="as fid: statistics exact to 1e-12, distance 1e-6 relative to the scipy sqrtm route"
        if frechet
        else "1e-6 relative to the direct formula (as cmmd)",
        summary=f"Frechet distance on {what}" if frechet else f"RBF MMD (x1000) on unit-norm {what}",
    )


def _make(short: str, default: str, what: str) -> None:
    @register_metric(_spec(f"fd_{short}", what, default, frechet=True))
    class FD(FrechetMetric):
        def __init__(
            self,
            *,
            extractor: str | FeatureExtractor = default,
            weights: str | Path | None = None,
            method: FrechetMethod = "eigh",
            data_range: DataRange = 1.0,
        ) -> None:
            super().__init__(extractor=extractor, weights=weights, method=method, data_range=data_range)

    @register_metric(_spec(f"mmd_{short}", what, default, frechet=False))
    class MMD(RBFMMDMetric):
        def __init__(
            self,
            *,
            extractor: str | FeatureExtractor = default,
            weights: str | Path | None = None,
            estimator: MMDEstimator = "biased",
            reference_batch_size: Annotated[int | None, Range(1)] = None,
            data_range: DataRange = 1.0,
        ) -> None:
            super().__init__(
                extractor=extractor,
                weights=weights,
                estimator=estimator,
                reference_batch_size=reference_batch_size,
                data_range=data_range,
            )

    args = f"\n\n    Args:\n        extractor: feature extractor name or instance (default: {default}).\n"
    FD.__name__ = FD.__qualname__ = f"FD_{short}"
    MMD.__name__ = MMD.__qualname__ = f"MMD_{short}"
    FD.__doc__ = f"Frechet distance on {what}.{args}"
    MMD.__doc__ = f"CMMD-style RBF MMD on unit-norm {what}.{args}"
    globals()[FD.__name__], globals()[MMD.__name__] = FD, MMD


for _short, (_ext, _what) in EXTRACTORS.items():
    _make(_short, _ext, _what)
