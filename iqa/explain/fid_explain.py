"""``explain_fid``: FID sensitivity heatmaps and top-1 class views for two image folders.

Features of every image of GEN and REF are extracted once (optionally cached on disk, keyed by the
extractor and the sha256 of the files); then a chosen subset of GEN (or images from another
folder) is explained with :func:`iqa.explain.fid_sensitivity.sensitivity_maps`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from iqa.api.features import folder_features
from iqa.api.settings import RunSettings
from iqa.errors import InputError
from iqa.explain.classes import ClassHistograms, class_probabilities, top1_histograms, top_classes
from iqa.explain.fid_sensitivity import absolute_ridge, sensitivity_maps
from iqa.features.base import FeatureExtractor
from iqa.features.registry import create_extractor
from iqa.io.folders import list_images
from iqa.io.images import array_to_tensor, decode_image
from iqa.stats import FrechetReference, GaussianStats


@dataclass
class ExplainedImage:
    name: str
    image: torch.Tensor  # (3, H, W) in [0, 1]
    heatmap: torch.Tensor  # (h, w) raw sensitivity map
    fid_with: float
    contribution: float
    top: list[tuple[str, float]]


@dataclass
class FIDExplanation:
    extractor: str
    fid: float
    n_ref: int
    n_gen: int
    items: list[ExplainedImage]
    histograms: ClassHistograms | None
    settings: dict = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)


def stats_of(features: torch.Tensor) -> GaussianStats:
    """Gaussian statistics of feature rows (N, dim)."""
    return GaussianStats.from_features(features)


def _pick(names: list[str], images: int | list[str], seed: int) -> list[int]:
    if isinstance(images, int):
        if images < 1:
            raise InputError(f"--images must be >= 1, got {images}")
        rng = np.random.default_rng(seed)
        return sorted(rng.choice(len(names), size=min(images, len(names)), replace=False).tolist())
    index = {n: i for i, n in enumerate(names)}
    missing = [n for n in images if n not in index]
    if missing:
        raise InputError(f"images not found among the readable generated images: {missing[:5]}")
    return [index[n] for n in images]


def _load(root: Path, names: list[str], max_pixels: int | None) -> list[torch.Tensor]:
    return [array_to_tensor(decode_image(root / n, max_pixels=max_pixels)) for n in names]


def explain_fid(
    gen: str | os.PathLike,
    ref: str | os.PathLike,
    *,
    extractor: str | FeatureExtractor = "efficientnet_lite0",
    images: int | list[str] = 8,
    explain_dir: str | os.PathLike | None = None,
    weighting: str = "grad_sq",
    route: str = "closed_form",
    ridge: float = 0.0,
    seed: int = 0,
    top_k: int = 5,
    settings: RunSettings | None = None,
) -> FIDExplanation:
    """Explain the Frechet distance between GEN and REF (extractor features) image by image.

    By default ``images`` images of GEN (random, seeded) are explained as members of GEN (their
    own features left out of the statistics, then added back). With ``explain_dir``, the images
    of that folder are explained as additions to GEN (the reference's "N - 1 + 1" set-up).

    Args:
        gen: folder of generated images.
        ref: folder of reference images.
        extractor: feature extractor name (or instance) with a spatial map.
        images: how many GEN images to explain (random, seeded), or their names.
        explain_dir: explain this folder's images as additions to GEN instead.
        weighting: how the sensitivity map weights gradients (``grad_sq``, ...).
        route: ``closed_form`` (the Frechet gradient in closed form) or ``autograd``.
        ridge: covariance ridge, relative to the mean variance (0: none).
        seed: picks the images to explain.
        top_k: classes listed per explained image.
        settings: device, batch size, decoding workers, feature cache, max pixels and progress
            (default: ``RunSettings(batch_size=32)``).
    """
    settings = settings or RunSettings(batch_size=32)
    device, max_pixels, progress = settings.device, settings.max_pixels, settings.progress
    ext = create_extractor(extractor) if isinstance(extractor, str) else extractor
    ext = ext.to(device).eval()
    if not ext.has_spatial_map:  # fail before extracting features of two folders
        ext.spatial(torch.zeros(1, 3, 8, 8))  # raises the explanatory "no spatial map" error
    opts = {"batch_size": settings.batch_size, "workers": settings.workers, "device": device, "max_pixels": max_pixels}
    cache_dir = settings.cache_dir
    fr = folder_features(Path(ref), ext, cache_dir=cache_dir, progress=progress, label="reference", **opts)
    fg = folder_features(Path(gen), ext, cache_dir=cache_dir, progress=progress, label="generated", **opts)
    s_ref, s_gen = stats_of(fr.features), stats_of(fg.features)
    if explain_dir is None:
        root, idx = Path(gen), _pick(fg.names, images, seed)
        names, loo = [fg.names[i] for i in idx], True
    else:
        root, loo = Path(explain_dir), False
        names = list_images(root) if isinstance(images, int) else list(images)
        names = names[:images] if isinstance(images, int) else names
    result, failed = [], fr.failed + fg.failed
    for i, name in enumerate(names):
        try:
            (img,) = _load(root, [name], max_pixels)
        except OSError as e:  # an unreadable image to explain: recorded, the others go on
            failed.append(str(e))
            continue
        s = sensitivity_maps(
            ext, img[None].to(device), s_ref, s_gen, weighting=weighting, route=route, leave_one_out=loo, ridge=ridge
        )
        top = _top(ext, s.features.float(), top_k)
        result.append(ExplainedImage(name, img, s.maps[0], float(s.fid_with[0]), float(s.contribution[0]), top[0]))
        if progress:
            progress("explain", i + 1, len(names))
    fid = float(
        FrechetReference.build(s_ref.mean, s_ref.cov, absolute_ridge(s_ref, ridge)).distance(s_gen.mean, s_gen.cov)
    )
    recorded = {
        "extractor": ext.name,
        "weighting": weighting,
        "route": route,
        "ridge": ridge,
        "seed": seed,
        "leave_one_out": loo,
        "gen": str(gen),
        "ref": str(ref),
        "explained_from": str(root),
    }
    return FIDExplanation(
        ext.name, fid, s_ref.n, s_gen.n, result, _histograms(ext, fr.features, fg.features), recorded, failed
    )


def _top(ext: FeatureExtractor, features: torch.Tensor, k: int) -> list[list[tuple[str, float]]]:
    try:
        return top_classes(class_probabilities(ext, features), ext.class_names(), k)
    except InputError:  # an extractor without a classifier: no class view
        return [[] for _ in range(len(features))]


def _histograms(ext: FeatureExtractor, ref: torch.Tensor, gen: torch.Tensor) -> ClassHistograms | None:
    try:
        pr, pg = class_probabilities(ext, ref), class_probabilities(ext, gen)
    except InputError:
        return None
    return top1_histograms(pr.argmax(1).numpy(), pg.argmax(1).numpy(), ext.class_names())
