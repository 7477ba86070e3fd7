"""``iqa.compare``: distribution metrics between two image sets, with a shared feature cache.

Each side is a folder of images, a pytorch-fid ``.npz`` of statistics (Frechet metrics only), an
``.npy`` of features (N, dim) for the metrics' extractor, or a tensor (images (N, 3, H, W) or
features (N, dim)). Features are computed once per (extractor, side) and shared by every metric
that uses that extractor in the run; with a cache directory they are stored on disk
(:mod:`iqa.api.features`). Metrics are driven only through the
:class:`~iqa.metrics.base.DistributionMetric` contract.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iqa.api.core import create
from iqa.api.features import (
    cache_entry,
    extract_folder,
    extract_folder_named,
    folder_fingerprint,
    save_npy,
)
from iqa.api.settings import Progress, RunSettings
from iqa.atomic import atomic_write_json
from iqa.errors import InputError
from iqa.features.base import FeatureExtractor
from iqa.io.folders import list_images
from iqa.metrics.base import DistributionMetric
from iqa.stats import GaussianStats

# re-exported: the folder feature helpers lived here before iqa.api.features
__all__ = ["compare", "extract_folder", "extract_folder_named", "folder_fingerprint"]

_DEFAULT = RunSettings(batch_size=32)  # compare's default batch (the settings' default is 16)


class _Side:
    """One side of a comparison and the features it yields per extractor (float64, on the CPU)."""

    def __init__(self, source: Any, name: str):
        self.source, self.name = source, name
        self.path = Path(source) if isinstance(source, (str, os.PathLike)) else None
        if self.path is not None and not self.path.exists():
            raise InputError(f"{name}: {self.path} does not exist (expected a folder, .npz or .npy)")
        self.failed: list[str] = []
        self._features: dict[str, torch.Tensor] = {}

    @property
    def kind(self) -> str:
        if isinstance(self.source, torch.Tensor):
            return "features" if self.source.ndim == 2 else "images"
        if self.path is None:
            raise InputError(
                f"{self.name}: expected a folder, .npz, .npy or a tensor, got {type(self.source).__name__}"
            )
        if self.path.is_dir():
            return "folder"
        return {".npz": "stats", ".npy": "features"}.get(self.path.suffix.lower(), "unknown")

    @property
    def n(self) -> int | None:
        """Rows of the first features computed for this side (None for statistics)."""
        return next((len(f) for f in self._features.values()), None)

    def _file(self) -> Path:
        if self.path is None:
            raise InputError(f"{self.name}: expected a path, got {type(self.source).__name__}")
        return self.path

    def stats(self) -> GaussianStats:
        return GaussianStats.load_npz(self._file())

    def features(self, extractor: FeatureExtractor, run: RunSettings) -> torch.Tensor:
        key = extractor.cache_key()
        if key in self._features:
            return self._features[key]
        kind = self.kind
        if kind == "features":
            f = self.source if isinstance(self.source, torch.Tensor) else torch.from_numpy(np.load(self._file()))
        elif kind == "images":
            with torch.inference_mode():
                f = extractor(self.source.to(run.device))
        elif kind == "folder":
            f = self._folder_features(extractor, run)
        else:
            raise InputError(f"{self.name}: {self.source} is not a folder, .npy features or image tensor")
        if f.ndim != 2 or f.shape[1] != extractor.dim:
            raise InputError(f"{self.name}: features have shape {tuple(f.shape)}, {key} gives {extractor.dim}-d")
        self._features[key] = f.detach().to("cpu", torch.float64)
        return self._features[key]

    def _folder_features(self, extractor: FeatureExtractor, run: RunSettings) -> torch.Tensor:
        path, progress, entry = self._file(), run.progress, None
        if run.cache_dir is not None:
            fingerprint = folder_fingerprint(path, list_images(path, recursive=run.recursive))
            entry = cache_entry(run.cache_dir, "features", extractor.cache_key(), fingerprint, ".npy")
            if entry.exists():
                return torch.from_numpy(np.load(entry))
        f, self.failed = extract_folder(
            path,
            extractor,
            batch_size=run.batch_size,
            workers=run.workers,
            device=run.device,
            recursive=run.recursive,
            max_pixels=run.max_pixels,
            progress=(lambda d, t: progress(self.name, d, t)) if progress else None,
        )
        if entry is not None and not self.failed:
            save_npy(entry, f.numpy())
            meta = {"folder": str(path), "extractor": extractor.cache_key(), "n": len(f)}
            atomic_write_json(entry.with_suffix(".json"), meta, indent=1)
        return f


def _run_settings(settings: RunSettings | None, **given: Any) -> RunSettings:
    """``settings`` (or compare's defaults) with the keyword arguments that were given applied."""
    changes = {k: v for k, v in given.items() if v is not None}
    if "device" in changes:
        changes["device"] = str(changes["device"])
    return (settings if settings is not None else _DEFAULT).replace(**changes)


def _build(metrics: list[str] | tuple[str, ...], options: dict[str, dict[str, Any]], device: torch.device) -> dict:
    built: dict[str, DistributionMetric] = {}
    for name in metrics:
        m = create(name, **options.get(name, {}))
        if not isinstance(m, DistributionMetric):
            raise InputError(f"{name} is a per-image metric; use `iqa score` for it")
        built[name] = m.to(device)
    return built


def compare(
    a: Any,
    b: Any,
    metrics: list[str] | tuple[str, ...] = ("fid",),
    *,
    options: dict[str, dict[str, Any]] | None = None,
    settings: RunSettings | None = None,
    batch_size: int | None = None,
    workers: int | None = None,
    device: str | torch.device | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    recursive: bool | None = None,
    max_pixels: int | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Distribution metrics between set ``a`` (treated as real/reference) and set ``b``.

    Args:
        a: the real / reference set: a folder, ``.npz`` statistics, ``.npy`` features, or a tensor
            of images (N, 3, H, W) or features (N, dim).
        b: the generated set, in the same forms.
        metrics: registered distribution metrics.
        options: per-metric options, ``{"kid": {"subset_size": 500}}``.
        settings: how the job runs (device, batch size, workers, cache, limits, progress); the
            keyword arguments below, when given (not None), override its fields. Without either,
            batches of 32, 2 decoding threads, the CPU and no cache.
        batch_size: images per forward pass.
        workers: decoding threads.
        device: where the metrics run ("cpu", "cuda", "cuda:1"); CUDA asked for but absent is an error.
        cache_dir: feature cache folder (None: no cache).
        recursive: walk sub-folders of input folders.
        max_pixels: decompression-bomb limit per image.
        progress: called as ``progress(side, done, total)``.

    Returns:
        ``{metric: value, ..., "n_a": int, "n_b": int, "failed": [...]}``; metrics with more to
        report add suffixed keys (KID: ``kid_std``). ``n_a`` / ``n_b`` are None for ``.npz`` sides.
    """
    run = _run_settings(
        settings,
        batch_size=batch_size,
        workers=workers,
        device=device,
        cache_dir=cache_dir,
        recursive=recursive,
        max_pixels=max_pixels,
        progress=progress,
    )
    dev = run.torch_device()
    built = _build(metrics, options or {}, dev)
    sides = {True: _Side(a, "a"), False: _Side(b, "b")}
    shared: dict[str, FeatureExtractor] = {}
    result: dict[str, Any] = {}
    for name, m in built.items():
        extractor = shared.setdefault(m.extractor.cache_key(), m.extractor)  # one extractor (and pass) per key
        for real, side in sides.items():
            if side.kind != "stats":
                m.update_features(side.features(extractor, run).to(dev), real=real)
                continue
            try:
                if real:
                    m.set_reference(side.stats())
                else:
                    m.update_stats(side.stats(), real=False)
            except InputError as e:  # say which side could not be used
                raise InputError(f"{side.name}: {e}") from None
        result.update(m.compute().as_dict(name))
    result["n_a"], result["n_b"] = sides[True].n, sides[False].n
    result["failed"] = sides[True].failed + sides[False].failed
    return result
