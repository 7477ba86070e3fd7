"""Distribution metrics on Ray: ``iqa compare A B --engine ray`` (:func:`compare_on_ray`).

Actors (a Ray Data ``ActorPoolStrategy`` pool) build a metric's feature extractor once and extract
the fixed chunks of every image side (:func:`~iqa.api.features.feature_chunks`: the chunks one
process runs, so every feature is bit-identical). The driver consumes the chunks as they stream in:

- when every metric sharing the extractor takes Gaussian statistics (FID and the other Frechet
  distances), each chunk's features are folded into running statistics with Chan's exact merge
  (:meth:`iqa.stats.GaussianStats.merge`) in chunk order and dropped, so the driver holds
  O(dim^2) numbers however many images there are (the value equals one pass up to float64
  rounding);
- otherwise (KID, CMMD, precision/recall, ... need every feature) the features are gathered in key
  order, exactly those of one process.

The metrics are then computed on the driver by :func:`iqa.compare` from those statistics or
features, so options, checks and the result's keys are those of a local comparison.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import numpy as np
import torch

from iqa.api.core import create
from iqa.api.features import extract_chunk, feature_chunks
from iqa.api.ray_engine import RayOptions, map_on_pool, ray_session, require_ray
from iqa.api.settings import RunSettings
from iqa.errors import InputError
from iqa.io.sources import FolderSource, Source
from iqa.metrics.base import DistributionMetric
from iqa.stats import GaussianStats


@dataclass(frozen=True)
class SideImages:
    """The images of one side of a comparison: where they are read and their keys in order."""

    source: Source
    keys: list[str]
    failed: list[str]  # items of the listing that cannot be read (as the single process reports them)


def side_images(spec: Any, recursive: bool = False) -> SideImages | None:
    """A folder, tar shards or a table as :class:`SideImages`; None for statistics, features or tensors."""
    from iqa.api.comparison import is_source_spec
    from iqa.io.folders import list_images
    from iqa.io.sources import open_source

    if isinstance(spec, (str, os.PathLike)) and Path(spec).is_dir():
        root = Path(spec).resolve()
        keys = list_images(root, recursive=recursive)
        if not keys:
            raise InputError(f"{spec}: no image files found")
        return SideImages(FolderSource(root, recursive=recursive), keys, [])
    if not is_source_spec(spec):
        return None
    src = open_source(spec)
    items = src.plan()
    return SideImages(
        src, [it.file for it in items if not it.error], [f"{it.file}: {it.error}" for it in items if it.error]
    )


class FeatureChunks:
    """A Ray Data actor: builds one metric's feature extractor once, then extracts fixed chunks of the sides."""

    def __init__(self, metric: str, options: dict[str, Any], sides: list[SideImages], settings: RunSettings):
        self.sides, self.settings = sides, settings
        m = cast(DistributionMetric, create(metric, **options))
        self.extractor = m.to(settings.torch_device()).eval().extractor
        self.cuts = [feature_chunks(len(side.keys), settings.batch_size) for side in sides]

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        meta, feats = [], []
        for s, c in zip(batch["side"], batch["chunk"]):
            side, span = self.sides[int(s)], self.cuts[int(s)][int(c)]
            out = extract_chunk(
                side.source,
                [side.keys[i] for i in span],
                self.extractor,
                device=self.settings.device,
                max_pixels=self.settings.max_pixels,
                workers=self.settings.workers,
            )
            pos = sorted(out.features)
            arr = np.stack([out.features[i].numpy() for i in pos]) if pos else np.zeros((0, 0))
            buf = io.BytesIO()
            np.save(buf, arr.astype(np.float64))  # bit-exact float64, no Arrow cast
            meta.append(json.dumps({"pos": [span.start + i for i in pos], "failed": out.failed}))
            feats.append(buf.getvalue())
        return {"side": batch["side"], "chunk": batch["chunk"], "meta": meta, "features": feats}


def features_on_ray(
    ray: ModuleType,
    metric: str,
    options: dict[str, Any],
    sides: list[SideImages],
    run: RunSettings,
    opts: RayOptions,
    *,
    merge_stats: bool = False,
) -> list[SideFeatures]:
    """Per side: its features (N, dim) float64 in key order, or with ``merge_stats`` their Gaussian
    statistics merged chunk by chunk (the features are dropped as they arrive), and the failures in
    chunk order (as one process meets them). One pool of actors extracts the chunks of
    :func:`~iqa.api.features.feature_chunks` of every side.
    """
    from ray.data import DataContext

    todo = [
        {"side": s, "chunk": c}
        for s, side in enumerate(sides)
        for c in range(len(feature_chunks(len(side.keys), run.batch_size)))
    ]
    sinks: list[_Gather] = [(_Merge if merge_stats else _Gather)(side) for side in sides]
    ctx = DataContext.get_current()
    bars, ctx.enable_progress_bars = ctx.enable_progress_bars, False
    try:
        ds = ray.data.from_items(todo, override_num_blocks=len(todo))
        settings = {"metric": metric, "options": options, "sides": sides, "settings": run}
        out = map_on_pool(ds, FeatureChunks, settings, opts)
        for r in out.iter_rows():  # streamed: a sink keeps what it needs of each chunk
            arr = torch.from_numpy(np.load(io.BytesIO(bytes(r["features"]))))
            sinks[int(r["side"])].add(int(r["chunk"]), json.loads(str(r["meta"])), arr)
    finally:
        ctx.enable_progress_bars = bars
    return [sink.result() for sink in sinks]


@dataclass
class SideFeatures:
    """What the actors gave for one side: features (N, dim) or merged statistics, the failures, N."""

    value: torch.Tensor | GaussianStats
    failed: list[str]
    n: int


class _Gather:
    """Every chunk's features, assembled in key order at the end (for metrics that need them all)."""

    def __init__(self, side: SideImages):
        self.side = side
        self.chunks: dict[int, tuple[dict[str, Any], torch.Tensor]] = {}

    def add(self, chunk: int, meta: dict[str, Any], features: torch.Tensor) -> None:
        self.chunks.setdefault(chunk, (meta, features))  # a retried chunk's second copy is the same

    def result(self) -> SideFeatures:
        feats: dict[int, torch.Tensor] = {}
        failed = list(self.side.failed)
        for c in sorted(self.chunks):
            meta, arr = self.chunks[c]
            feats.update({p: arr[j] for j, p in enumerate(meta["pos"])})
            failed += meta["failed"]
        if not feats:
            raise InputError(f"{self.side.source.label}: no readable images ({len(failed)} failed: {failed[:3]})")
        return SideFeatures(torch.stack([feats[i] for i in sorted(feats)]), failed, len(feats))


class _Merge(_Gather):
    """Chan's merge of each chunk's statistics, in chunk order (chunks arriving early wait), so the
    driver holds one (dim, dim) scatter instead of N feature vectors and the rounding is reproducible.
    """

    def __init__(self, side: SideImages):
        super().__init__(side)
        self.stats: GaussianStats | None = None
        self.next = 0
        self.failed = list(side.failed)

    def add(self, chunk: int, meta: dict[str, Any], features: torch.Tensor) -> None:
        if chunk < self.next:
            return  # a retried chunk already merged
        super().add(chunk, meta, features)
        while self.next in self.chunks:
            meta, arr = self.chunks.pop(self.next)
            self.failed += meta["failed"]
            if len(meta["pos"]):
                part = GaussianStats.from_features(arr)
                self.stats = part if self.stats is None else self.stats.merge(part)
            self.next += 1

    def result(self) -> SideFeatures:
        if self.stats is None:
            raise InputError(
                f"{self.side.source.label}: no readable images ({len(self.failed)} failed: {self.failed[:3]})"
            )
        return SideFeatures(self.stats, self.failed, self.stats.n)


def merges_statistics(m: DistributionMetric) -> bool:
    """Whether ``m`` can be computed from Gaussian statistics alone (it overrides ``update_stats``)."""
    return type(m).update_stats is not DistributionMetric.update_stats


def compare_on_ray(
    a: Any,
    b: Any,
    metrics: list[str] | tuple[str, ...] = ("fid",),
    *,
    options: dict[str, dict[str, Any]] | None = None,
    settings: RunSettings | None = None,
    ray_options: RayOptions | None = None,
    keep_going: bool = False,
) -> dict[str, Any]:
    """:func:`iqa.compare` with the features of image sides (folders, tar shards, tables) extracted on Ray.

    Actors build each extractor once and extract the fixed chunks of each side (the chunks one
    process runs, so every feature is bit-identical); the driver gathers them in key order and
    computes every metric from them with :func:`iqa.compare`, so the values equal a single-process
    comparison (gathered features: exactly). Statistics, feature files and tensors are used as
    given. Metrics sharing an extractor share one extraction.

    Returns:
        As :func:`iqa.compare`; ``n_a``, ``n_b`` and ``failed`` describe the images read.

    Raises:
        MissingDependencyError: Ray Data is not installed (before any work).
        InputError: as :func:`iqa.compare`.

    ``keep_going`` is :func:`iqa.compare`'s. The feature cache (``settings.cache_dir``) is not used.
    """
    from iqa.api.comparison import compare
    from iqa.api.preflight import prepare_metrics

    ray = require_ray()
    opts = ray_options or RayOptions()
    run = (settings or RunSettings(batch_size=32)).replace(progress=None)
    options = options or {}
    ready = prepare_metrics(metrics, options, keep_going=keep_going)
    built, skipped = ready.built, dict(ready.skipped)
    groups: dict[str, list[str]] = {}
    for name, m in built.items():
        groups.setdefault(cast(DistributionMetric, m).extractor.cache_key(), []).append(name)
    sides = [side_images(s, run.recursive) for s in (a, b)]
    result: dict[str, Any] = {}
    counts: list[int | None] = [None, None]
    failed: list[list[str]] = [[], []]
    merged: list[str] = []
    with ray_session(ray, opts.address), tempfile.TemporaryDirectory(prefix="iqa-ray-stats-") as tmp:
        for g, names in enumerate(groups.values()):
            given: list[Any] = [a, b]
            images = [i for i, side in enumerate(sides) if side is not None]
            chosen = [side for side in sides if side is not None]
            stats = all(merges_statistics(cast(DistributionMetric, built[n])) for n in names)
            extracted = (
                features_on_ray(ray, names[0], options.get(names[0], {}), chosen, run, opts, merge_stats=stats)
                if chosen
                else []
            )
            for i, got in zip(images, extracted):
                failed[i], counts[i] = got.failed, got.n
                if isinstance(got.value, GaussianStats):  # handed to iqa.compare as a statistics file
                    given[i] = got.value.save_npz(Path(tmp) / f"group{g}_side{i}.npz")
                else:
                    given[i] = got.value
            if stats and chosen:
                merged += names
            part = compare(
                given[0], given[1], names, options={n: options.get(n, {}) for n in names}, settings=run,
                keep_going=keep_going,
            )  # fmt: skip
            skipped.update(part.pop("skipped", {}))
            result.update({k: v for k, v in part.items() if k not in ("n_a", "n_b", "failed", "provenance")})
            result.setdefault("provenance", part["provenance"])
            for i, key in enumerate(("n_a", "n_b")):
                counts[i] = counts[i] if sides[i] is not None else part[key]
    provenance = result.pop("provenance", {})
    provenance["engine"] = {"name": "ray", "workers": opts.workers, "statistics_merged": merged}
    result.update({"n_a": counts[0], "n_b": counts[1], "failed": failed[0] + failed[1]})
    if skipped:
        result["skipped"] = skipped
    result["provenance"] = provenance
    return result
