"""``iqa.compare``: distribution metrics between two image sets, with a shared feature cache.

Each side is a folder of images, a pytorch-fid ``.npz`` of statistics (Frechet metrics only), an
``.npy`` of features (N, dim) for the metrics' extractor, or a tensor (images (N, 3, H, W) or
features (N, dim)). Features are computed once per (extractor, side) and shared by every metric
that uses that extractor in the run; with a cache directory they are stored on disk
(:mod:`iqa.api.features`). Metrics are driven only through the
:class:`~iqa.metrics.base.DistributionMetric` contract.

Before any image is read every metric is built and checked (:func:`iqa.api.core.prepare_metrics`):
its kind, statistics given to a metric that needs features, file dimensions against its extractor,
and, when a side has images, its feature extractor with its weights. Statistics and feature files
need no extractor network: extractors are built on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch

from iqa.api.features import (
    cache_entry,
    extract_folder,
    extract_folder_named,
    folder_fingerprint,
    save_npy,
)
from iqa.api.preflight import prepare_metrics
from iqa.api.settings import Progress, RunSettings
from iqa.atomic import atomic_write_json
from iqa.errors import InputError, IQAError
from iqa.features.base import FeatureExtractor
from iqa.features.registry import LazyExtractor
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
        self._stats: dict[str, GaussianStats] = {}

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

    @property
    def needs_extractor(self) -> bool:
        """Whether this side's features come from images (so the extractor's network is needed)."""
        return self.kind in ("folder", "images")

    def stats(self) -> GaussianStats:
        if "stats" not in self._stats:
            self._stats["stats"] = GaussianStats.load_npz(self._file())
        return self._stats["stats"]

    def check(self, name: str, m: DistributionMetric) -> None:
        """Refuse, before any work, a side ``m`` cannot use (statistics for a kernel metric, a wrong dimension)."""
        kind, dim = self.kind, m.extractor.dim
        if kind == "unknown":
            raise InputError(f"{self.name}: {self.source} is not a folder, .npz statistics or .npy features")
        if kind == "stats":
            if type(m).update_stats is DistributionMetric.update_stats:  # the contract's refusal
                raise InputError(f"{self.name}: {m._stats_refusal()}")
            got = self.stats().dim
        elif kind == "features":
            got = self._feature_shape()[-1] if len(self._feature_shape()) == 2 else -1
        else:
            return
        if got != dim:
            raise InputError(
                f"{self.name}: {self.source} holds {got}-d {kind}, {name}'s extractor "
                f"{m.extractor.cache_key()} gives {dim}-d"
            )

    def _feature_shape(self) -> tuple[int, ...]:
        if isinstance(self.source, torch.Tensor):
            return tuple(self.source.shape)
        return tuple(np.load(self._file(), mmap_mode="r").shape)  # the header only

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


def _checker(sides: list[_Side]) -> Any:
    """The pre-flight check of each metric: a distribution metric, sides it can use, its extractor built
    when a side has images (once per extractor key: the run shares it).
    """
    loaded: set[str] = set()

    def check(name: str, m: Any) -> None:
        if not isinstance(m, DistributionMetric):
            raise InputError(f"{name} is a per-image metric; use `iqa score` for it")
        for side in sides:
            side.check(name, m)
        key = m.extractor.cache_key()
        if any(s.needs_extractor for s in sides) and key not in loaded:
            if isinstance(m.extractor, LazyExtractor):
                m.extractor.load()
            loaded.add(key)

    return check


def _evaluate(m: DistributionMetric, name: str, sides: dict[bool, _Side], extractor: FeatureExtractor,
              run: RunSettings, dev: torch.device) -> dict[str, float]:  # fmt: skip
    """One metric on both sides (features shared through ``extractor``), as ``{name: value, ...}``."""
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
    return m.compute().as_dict(name)


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
    keep_going: bool = False,
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
        keep_going: a metric that cannot be built (missing weights or dependency) or fails while
            computed is recorded in ``"skipped"`` and the others are computed; without it, every
            problem found before the run is raised at once and a failure while computing is raised.

    Returns:
        ``{metric: value, ..., "n_a": int, "n_b": int, "failed": [...]}``; metrics with more to
        report add suffixed keys (KID: ``kid_std``). ``n_a`` / ``n_b`` are None for ``.npz`` sides.
        With ``keep_going``, metrics that were not computed are in ``"skipped"`` (``{metric: why}``,
        present only when one was).

    Raises:
        InputError: every problem found before any image is read, in one message (see
            :func:`iqa.api.core.prepare_metrics`).
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
    sides = {True: _Side(a, "a"), False: _Side(b, "b")}
    ready = prepare_metrics(metrics, options, check=_checker(list(sides.values())), keep_going=keep_going)
    shared: dict[str, FeatureExtractor] = {}
    result: dict[str, Any] = {}
    skipped = dict(ready.skipped)
    for name, built in ready.built.items():
        m = cast(DistributionMetric, built).to(dev)  # the pre-flight check refused any other kind
        extractor = shared.setdefault(m.extractor.cache_key(), m.extractor)  # one extractor (and pass) per key
        try:
            result.update(_evaluate(m, name, sides, extractor, run, dev))
        except (IQAError, ValueError, RuntimeError, OSError) as e:
            if not keep_going:
                raise
            skipped[name] = f"{name}: {e}"
    result["n_a"], result["n_b"] = sides[True].n, sides[False].n
    result["failed"] = sides[True].failed + sides[False].failed
    if skipped:
        result["skipped"] = skipped
    return result
