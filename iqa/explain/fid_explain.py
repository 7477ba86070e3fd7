"""``explain_fid``: FID sensitivity heatmaps and top-1 class views for two image folders.

Features of every image of GEN and REF are extracted once (optionally cached on disk, keyed by the
extractor and the sha256 of the files, so a rerun with other options extracts nothing); then a
chosen subset of GEN (or images from another folder) is explained with
:func:`iqa.explain.fid_sensitivity.sensitivity_maps`.

What can be checked from the options and file counts alone is checked before any feature is
extracted (minutes on large folders): options, requested names, and that each set has more images
than feature dimensions unless ``ridge > 0`` (otherwise its covariance is singular and FD has no
gradient).
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
from iqa.explain.fid_sensitivity import absolute_ridge, check_options, sensitivity_maps
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

    @property
    def label(self) -> str:
        """What ``fid`` is: "FID", or "FD (ridge r)" when a covariance ridge made it another distance."""
        return distance_label(float(self.settings.get("ridge", 0.0)))


def distance_label(ridge: float) -> str:
    """The name of the printed value: FID, or "FD (ridge r)" since a ridge changes the covariances."""
    return f"FD (ridge {ridge:g})" if ridge else "FID"


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


def preflight(
    gen: Path,
    ref: Path,
    ext: FeatureExtractor,
    *,
    images: int | list[str],
    explain_dir: Path | None,
    weighting: str,
    route: str,
    ridge: float,
) -> None:
    """Refuse, before any feature is extracted, what would fail after: options, names, image counts.

    A set of n images has a covariance of rank at most n - 1, so with n <= dim it is singular and
    FD has no gradient: only a ridge (``ridge > 0``) makes it invertible.
    """
    check_options(weighting, route)
    if ridge < 0:
        raise InputError(f"ridge must be >= 0, got {ridge}")
    if isinstance(images, int) and images < 1:
        raise InputError(f"--images must be >= 1, got {images}")
    if not ext.has_spatial_map:
        ext.spatial(torch.zeros(1, 3, 8, 8))  # raises the explanatory "no spatial map" error
    listed = {"reference": list_images(ref), "generated": list_images(gen)}
    for what, names in listed.items():
        folder = ref if what == "reference" else gen
        if len(names) < 2:
            raise InputError(
                f"the {what} folder {folder} has {len(names)} image(s); feature statistics need at least 2"
            )
        if ridge == 0 and len(names) <= ext.dim:
            raise InputError(
                f"the {what} folder {folder} has {len(names)} images for {ext.name}'s {ext.dim}-d features: its "
                f"covariance is singular and FID has no gradient. Pass --ridge 1e-3 (ridge=1e-3: that fraction of "
                f"the mean feature variance added to the covariances; the value is then FD with a ridge, not FID) "
                f"or use more than {ext.dim} images. (Checked before extracting any feature.)"
            )
    if isinstance(images, list):
        pool = listed["generated"] if explain_dir is None else list_images(explain_dir)
        missing = sorted(set(images) - set(pool))
        if missing:
            where = gen if explain_dir is None else explain_dir
            raise InputError(f"images not found in {where}: {missing[:5]}")


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
        ridge: covariance ridge, relative to the mean variance (0: none, the exact FID). Needed
            when a folder has no more images than feature dimensions; the value is then labelled
            "FD (ridge r)" (:attr:`FIDExplanation.label`), not FID.
        seed: picks the images to explain.
        top_k: classes listed per explained image.
        settings: device, batch size, decoding workers, feature cache, max pixels and progress
            (default: ``RunSettings(batch_size=32)``). With ``cache_dir`` each folder's features
            are stored, and a rerun on the same files (any other option changed) reuses them.

    Raises:
        InputError: before any extraction, for bad options, unknown names, or a folder with no
            more images than feature dimensions while ``ridge`` is 0.
    """
    settings = settings or RunSettings(batch_size=32)
    device, max_pixels, progress = settings.device, settings.max_pixels, settings.progress
    ext = create_extractor(extractor) if isinstance(extractor, str) else extractor
    ext = ext.to(device).eval()
    preflight(Path(gen), Path(ref), ext, images=images, explain_dir=None if explain_dir is None else Path(explain_dir),
              weighting=weighting, route=route, ridge=ridge)  # fmt: skip
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
