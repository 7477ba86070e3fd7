"""``iqa.compare``: distribution metrics between two image sets, with a shared feature cache.

Each side is a folder of images, webdataset ``.tar`` shards or a ``.csv`` / ``.parquet`` table of
image paths or bytes (:func:`iqa.io.sources.open_source`), a pytorch-fid ``.npz`` of statistics
(Frechet metrics only), an ``.npy`` of features (N, dim) for the metrics' extractor, or a tensor
(images (N, 3, H, W) or features (N, dim)). Features are computed once per (extractor, side) and shared by every metric
that uses that extractor in the run; with a cache directory they are stored on disk
(:mod:`iqa.api.features`). Metrics are driven only through the
:class:`~iqa.metrics.base.DistributionMetric` contract.

Before any image is read every metric is built and checked (:func:`iqa.api.core.prepare_metrics`):
its kind, statistics given to a metric that needs features, file dimensions against its extractor,
and, when a side has images, its feature extractor with its weights. Statistics and feature files
need no extractor network: extractors are built on first use.

Under torchrun (:func:`compare_ranks`) each rank extracts the features of its share of every image
side's chunks (``i % N == r`` of :func:`iqa.api.features.feature_chunks`); rank 0 gathers them,
assembles them in order and computes every metric as one process would.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import numpy as np
import torch
import torch.distributed as dist

from iqa.api.distributed import Ranks, broadcast, gather, leave_group, process_group
from iqa.api.features import (
    ChunkFeatures,
    cache_entry,
    extract_folder,
    extract_folder_named,
    extract_source,
    feature_chunks,
    folder_fingerprint,
    iter_chunk_features,
    save_npy,
    source_fingerprint,
)
from iqa.api.preflight import prepare_metrics
from iqa.api.provenance import environment, metric_provenance
from iqa.api.settings import Progress, RunSettings
from iqa.atomic import atomic_write_json
from iqa.errors import InputError, IQAError
from iqa.features.base import FeatureExtractor
from iqa.features.registry import DECLARED, LazyExtractor
from iqa.io.folders import list_images
from iqa.io.sources import TABLE_SUFFIXES, FolderSource, Source, open_source
from iqa.metrics.base import DistributionMetric, DistributionResult
from iqa.stats import GaussianStats
from iqa.stats.formats import ReferenceSet, is_published_name, open_published, read_reference
from iqa.weights.manifest import ReferenceStatsSpec, get_reference_stats

# re-exported: the folder feature helpers lived here before iqa.api.features
__all__ = ["compare", "compare_ranks", "extract_folder", "extract_folder_named", "folder_fingerprint"]

_DEFAULT = RunSettings(batch_size=32)  # compare's default batch (the settings' default is 16)


Plan = str  # how a side feeds one metric: "stats", "features", "images" or "ignored" (one-sided metrics)
IMAGE_SETS = ("folder", "source")  # sides whose images are read and decoded here, chunk by chunk


def is_source_spec(spec: Any) -> bool:
    """Whether ``spec`` names tar shards or a table (or is a Source) rather than a folder or a statistics file."""
    if isinstance(spec, Source):
        return True
    if isinstance(spec, (list, tuple)):
        return bool(spec) and all(isinstance(x, (str, os.PathLike)) for x in spec)
    if not isinstance(spec, (str, os.PathLike)):
        return False
    s = str(spec).lower()
    return s.endswith(".tar") or (".tar" in s and any(c in s for c in "{*?[")) or Path(s).suffix in TABLE_SUFFIXES


class _Side:
    """One side of a comparison and the features it yields per extractor (float64, on the CPU).

    A side is a folder, tar shards or a table (a :class:`~iqa.io.sources.Source`), a tensor (images
    or features), a file of statistics/features/images in any format :mod:`iqa.stats.formats`
    reads, or published statistics by name (``cleanfid:...``).
    """

    def __init__(self, source: Any, name: str):
        self.source, self.name = source, name
        self.path: Path | None = None
        self.src: Source | None = None
        self.published: ReferenceStatsSpec | None = None
        self._ranked: dict[str, IQAError | None] = {}  # extractor key -> error met assembling (torchrun)
        if is_published_name(source):
            get_reference_stats(source)  # an unknown name fails now, with suggestions
        elif is_source_spec(source):
            try:
                self.src = open_source(source)
            except InputError as e:
                raise InputError(f"{name}: {e}") from None
        elif isinstance(source, (str, os.PathLike)):
            self.path = Path(source)
            if not self.path.exists():
                raise InputError(
                    f"{name}: {self.path} does not exist (expected a folder, statistics or features file, "
                    "or published statistics such as cleanfid:cifar10_clean_train_32)"
                )
        self.failed: list[str] = []
        self._features: dict[str, torch.Tensor] = {}
        self._ref: ReferenceSet | None = None

    @property
    def kind(self) -> str:
        if isinstance(self.source, torch.Tensor):
            return "features" if self.source.ndim == 2 else "images"
        if is_published_name(self.source):
            return "reference"
        if self.src is not None:
            return "source"
        if self.path is None:
            raise InputError(
                f"{self.name}: expected a folder, a statistics file, published statistics or a tensor, "
                f"got {type(self.source).__name__}"
            )
        if self.path.is_dir():
            return "folder"
        return "reference" if self.path.suffix.lower() in (".npz", ".npy", ".pt", ".pth") else "unknown"

    @property
    def n(self) -> int | None:
        """Rows of the first features computed for this side (None for statistics)."""
        return next((len(f) for f in self._features.values()), None)

    def reference(self) -> ReferenceSet:
        """The file's contents (published statistics are downloaded by the weights manager first)."""
        if self._ref is None:
            if is_published_name(self.source):
                self._ref, self.published = open_published(self.source)
            else:
                assert self.path is not None
                self._ref = read_reference(self.path)
        return self._ref

    def plan(self, name: str, m: DistributionMetric) -> Plan:
        """How this side feeds ``m``; refuses, before any work, a side ``m`` cannot use."""
        kind = self.kind
        if kind == "unknown":
            raise InputError(f"{self.name}: {self.source} is not a folder, statistics, features or images file")
        if kind in ("folder", "source", "images"):
            return "images"
        dim = m.extractor.dim
        if kind == "features":
            if self.source.shape[1] != dim:
                raise InputError(f"{self.name}: features are {self.source.shape[1]}-d, {name}'s extractor "
                                 f"{m.extractor.cache_key()} gives {dim}-d")  # fmt: skip
            return "features"
        ref = self.reference()
        stats = ref.stats_for(dim)
        merges = type(m).update_stats is not DistributionMetric.update_stats
        if stats is not None and merges:
            plan: Plan = "stats"
        elif ref.features is not None and ref.features.shape[1] == dim:
            plan = "features"
        elif ref.image_shape is not None:
            return "images"  # our extractor computes the features: nothing to match
        elif stats is not None:  # statistics only, for a metric that needs features
            raise InputError(f"{self.name}: {m._stats_refusal()}")
        else:
            raise InputError(f"{self.name}: {self.source} holds {ref.describe()}; {name}'s extractor "
                             f"{m.extractor.cache_key()} gives {dim}-d")  # fmt: skip
        self._check_published_extractor(name, m, stats if plan == "stats" else None)
        return plan

    def _check_published_extractor(self, name: str, m: DistributionMetric, stats: GaussianStats | None) -> None:
        """Published statistics were made by one extractor and input path: refuse another one."""
        if self.published is None:
            return
        p = self.published
        spatial = stats is not None and stats is self.reference().stats.get("spatial")
        made_by = p.spatial_extractor if spatial else p.extractor
        want = DECLARED.get(made_by, (made_by, 0))[0]
        if m.extractor.cache_key() != want:
            raise InputError(
                f"{self.name}: {p.name} was computed with {made_by} ({p.preprocessing}); {name} uses "
                f"{m.extractor.cache_key()}. Pass --opt {name}.extractor={made_by} (Python: "
                f"options={{{name!r}: {{'extractor': {made_by!r}}}}}) so both sides are measured alike"
            )

    def stats_for(self, m: DistributionMetric) -> GaussianStats:
        stats = self.reference().stats_for(m.extractor.dim)
        assert stats is not None  # plan() said "stats"
        return stats

    def features(self, extractor: FeatureExtractor, run: RunSettings, plan: Plan) -> torch.Tensor:
        key = extractor.cache_key()
        if key in self._features:
            return self._features[key]
        kind = self.kind
        if plan == "features":
            f = self.source if isinstance(self.source, torch.Tensor) else self.reference().features
            assert f is not None
        elif kind == "images":
            with torch.inference_mode():
                f = extractor(self.source.to(run.device))
        elif kind in IMAGE_SETS and key in self._ranked:
            err = self._ranked[key]  # extracted by the ranks; only an error can be left here
            if err is not None:
                raise err
            raise InputError(f"{self.name}: features for {key} were not gathered on this rank")
        elif kind == "folder":
            f = self._folder_features(extractor, run)
        elif kind == "source":
            f = self._source_features(extractor, run)
        else:
            f = self._file_image_features(extractor, run)
        if f.ndim != 2 or f.shape[1] != extractor.dim:
            raise InputError(f"{self.name}: features have shape {tuple(f.shape)}, {key} gives {extractor.dim}-d")
        self._features[key] = f.detach().to("cpu", torch.float64)
        return self._features[key]

    def _file_image_features(self, extractor: FeatureExtractor, run: RunSettings) -> torch.Tensor:
        """Features of the uint8 images a file holds (ADM batches' ``arr_0``), batch by batch."""
        images = self.reference().load_images()
        out, total, progress = [], len(images), run.progress
        for i in range(0, total, run.batch_size):
            x = torch.from_numpy(images[i : i + run.batch_size]).permute(0, 3, 1, 2).float() / 255
            with torch.inference_mode():
                out.append(extractor(x.to(run.device)).to("cpu", torch.float64))
            if progress:
                progress(self.name, min(i + run.batch_size, total), total)
        return torch.cat(out)

    def _folder_features(self, extractor: FeatureExtractor, run: RunSettings) -> torch.Tensor:
        path, progress, entry = self.path, run.progress, None
        assert path is not None
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
        self._save(entry, f, extractor)
        return f

    def _save(self, entry: Path | None, f: torch.Tensor, extractor: FeatureExtractor) -> None:
        """Cache the features of a side all of whose images were read."""
        if entry is not None and not self.failed:
            save_npy(entry, f.numpy())
            meta = {"folder": str(self.source), "extractor": extractor.cache_key(), "n": len(f)}
            if self.src is not None:
                meta["source"] = self.src.describe()
            atomic_write_json(entry.with_suffix(".json"), meta, indent=1)

    def _listing(self, run: RunSettings) -> tuple[Source, list[str], list[str]]:
        """(the source, the keys of its images in order, why items of its listing cannot be read)."""
        if self.src is None:
            assert self.path is not None
            keys = list_images(self.path, recursive=run.recursive)
            if not keys:
                raise InputError(f"{self.path}: no image files found")
            return FolderSource(self.path, recursive=run.recursive), keys, []
        items = self.src.plan()
        keys = [it.file for it in items if not it.error]
        return self.src, keys, [f"{it.file}: {it.error}" for it in items if it.error]

    def _entry(self, extractor: FeatureExtractor, run: RunSettings, src: Source, keys: list[str]) -> Path | None:
        """The cache file of this side's features (None without a cache directory)."""
        if run.cache_dir is None:
            return None
        fp = folder_fingerprint(self.path, keys) if self.src is None and self.path else source_fingerprint(src, keys)
        return cache_entry(run.cache_dir, "features", extractor.cache_key(), fp, ".npy")

    def _source_features(self, extractor: FeatureExtractor, run: RunSettings) -> torch.Tensor:
        """Features of the images of tar shards or a table (cached as a folder's are)."""
        src, keys, failed = self._listing(run)
        entry = self._entry(extractor, run, src, keys)
        if entry is not None and entry.exists():
            return torch.from_numpy(np.load(entry))
        progress = run.progress
        feats, failures = extract_source(
            src,
            keys,
            extractor,
            batch_size=run.batch_size,
            workers=run.workers,
            device=run.device,
            max_pixels=run.max_pixels,
            progress=(lambda d, t: progress(self.name, d, t)) if progress else None,
        )
        self.failed = failed + failures
        f = self._stack(feats, src)
        self._save(entry, f, extractor)
        return f

    def _stack(self, feats: dict[int, torch.Tensor], src: Source) -> torch.Tensor:
        """The readable images' features in key order (N, dim); none readable is an error."""
        if not feats:
            raise InputError(f"{src.label}: no readable images ({len(self.failed)} failed: {self.failed[:3]})")
        return torch.stack([feats[i] for i in sorted(feats)])

    def extract_ranked(self, extractor: FeatureExtractor, run: RunSettings, ranks: Ranks) -> None:
        """torchrun: this rank extracts its chunks of the side's images; rank 0 gathers and keeps them.

        Rank 0 lists the side and checks the cache; every rank runs chunks ``i % N == r``; rank 0
        puts the features together in key order (an error doing so is raised when a metric asks
        for them, as in one process).
        """
        key = extractor.cache_key()
        if key in self._ranked or key in self._features:
            return

        def listing() -> tuple[Source, list[str], list[str], Path | None, bool]:
            src, keys, failed = self._listing(run)
            entry = self._entry(extractor, run, src, keys)
            return src, keys, failed, entry, entry is not None and entry.exists()

        src, keys, failed, entry, cached = broadcast(ranks, listing)
        self._ranked[key] = None
        if cached:
            if ranks.leader:
                assert entry is not None
                self._features[key] = torch.from_numpy(np.load(entry)).to(torch.float64)
            return
        mine = ranks.mine(len(feature_chunks(len(keys), run.batch_size)))
        outs = dict(self._run_chunks(src, keys, extractor, run, mine))
        everyone = gather(ranks, outs)
        if everyone is None:
            return
        by_chunk: dict[int, ChunkFeatures] = {c: out for part in everyone for c, out in part.items()}
        feats: dict[int, torch.Tensor] = {}
        for c in sorted(by_chunk):  # chunk order: the failures come in the order one process meets them
            feats.update(by_chunk[c].features)
            failed += by_chunk[c].failed
        self.failed = failed
        try:
            f = self._stack(feats, src)
            self._save(entry, f, extractor)
            self._features[key] = f.to(torch.float64)
        except IQAError as e:
            self._ranked[key] = e

    def _run_chunks(self, src: Source, keys: list[str], extractor: FeatureExtractor, run: RunSettings,
                    mine: list[int]) -> list[tuple[int, ChunkFeatures]]:  # fmt: skip
        """This rank's chunks, with progress (of this rank's share) where the run reports it."""
        cut = feature_chunks(len(keys), run.batch_size)
        out, done, total, progress = [], 0, sum(len(cut[c]) for c in mine), run.progress
        runs = iter_chunk_features(src, keys, extractor, batch_size=run.batch_size, workers=run.workers,
                                   device=run.device, max_pixels=run.max_pixels, chunks=mine)  # fmt: skip
        for c, chunk in runs:
            out.append((c, chunk))
            done += len(cut[c])
            if progress:
                progress(self.name, done, total)
        return out

    def provenance(self) -> dict[str, Any]:
        """What this side was, for the result's record."""
        src = "tensor" if isinstance(self.source, torch.Tensor) else str(self.source)
        if self.src is not None:
            src = self.src.label
        out: dict[str, Any] = {"source": src, "kind": self.kind}
        if self.src is not None:
            out["input"] = self.src.describe()
        if self._ref is not None:
            out["format"] = self._ref.format
        if self.published is not None:
            p = self.published
            out["published"] = {
                "name": p.name, "source": p.source, "url": p.weight.urls[0], "dataset": p.dataset,
                "split": p.split, "resolution": p.resolution, "images": p.images,
                "extractor": p.extractor, "preprocessing": p.preprocessing,
            }  # fmt: skip
        return out


def _run_settings(settings: RunSettings | None, **given: Any) -> RunSettings:
    """``settings`` (or compare's defaults) with the keyword arguments that were given applied."""
    changes = {k: v for k, v in given.items() if v is not None}
    if "device" in changes:
        changes["device"] = str(changes["device"])
    return (settings if settings is not None else _DEFAULT).replace(**changes)


def _checker(sides: list[_Side], plans: dict[str, list[Plan]]) -> Any:
    """The pre-flight check of each metric: a distribution metric, sides it can use (their plans are
    kept in ``plans``), its extractor built when a side gives images (once per extractor key).
    """
    loaded: set[str] = set()

    def check(name: str, m: Any) -> None:
        if not isinstance(m, DistributionMetric):
            raise InputError(f"{name} is a per-image metric; use `iqa score` for it")
        # a one-sided metric (is, vendi_*) ignores the reference: it is neither checked nor read for it
        plans[name] = [side.plan(name, m) if m.uses_real or i else "ignored" for i, side in enumerate(sides)]
        key = m.extractor.cache_key()
        if "images" in plans[name] and key not in loaded:
            if isinstance(m.extractor, LazyExtractor):
                m.extractor.load()
            loaded.add(key)

    return check


def _evaluate(m: DistributionMetric, name: str, sides: dict[bool, _Side], plans: list[Plan],
              extractor: FeatureExtractor, run: RunSettings, dev: torch.device) -> DistributionResult:  # fmt: skip
    """One metric on both sides (features shared through ``extractor``)."""
    for (real, side), plan in zip(sides.items(), plans):
        if plan == "ignored":
            continue
        if plan != "stats":
            m.update_features(side.features(extractor, run, plan).to(dev), real=real)
            continue
        try:
            if real:
                m.set_reference(side.stats_for(m))
            else:
                m.update_stats(side.stats_for(m), real=False)
        except InputError as e:  # say which side could not be used
            raise InputError(f"{side.name}: {e}") from None
    return m.compute()


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
        a: the real / reference set: a folder, webdataset ``.tar`` shards (a list, a glob or
            ``shard-{000..009}.tar``), a ``.csv`` / ``.parquet`` table of image paths or bytes (or any
            :class:`~iqa.io.sources.Source`), ``.npz`` statistics, ``.npy`` features, or a tensor
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
    result = _compare(a, b, metrics, options, run, keep_going, None)
    assert result is not None  # one process: always the leader
    return result


def compare_ranks(
    a: Any,
    b: Any,
    metrics: list[str] | tuple[str, ...] = ("fid",),
    *,
    ranks: Ranks,
    options: dict[str, dict[str, Any]] | None = None,
    settings: RunSettings | None = None,
    keep_going: bool = False,
) -> dict[str, Any] | None:
    """:func:`compare` split between the ranks of a torchrun world: the result on rank 0, None elsewhere.

    Every rank builds the metrics and extracts its chunks (``i % N == r``) of each image side;
    rank 0 gathers the features, assembles them in order and computes the metrics exactly as one
    process (same chunks, same batches: bit-identical features). The process group is joined here
    (gloo; nccl on CUDA, each rank on ``cuda:LOCAL_RANK``) and left at the end. Progress (rank 0's
    share) is reported on rank 0 only.
    """
    run = _run_settings(settings)
    if dist.is_available() and dist.is_initialized():
        raise InputError(
            "compare_ranks joins and leaves its own process group, but one is already initialised; call it "
            "before init_process_group, or run iqa.compare on each rank's share (the metrics gather their state)"
        )
    with process_group(ranks, run.device) as dev:
        run = run.replace(device=dev, progress=run.progress if ranks.leader else None)
        return _compare(a, b, metrics, options, run, keep_going, ranks)


def _compare(a: Any, b: Any, metrics: list[str] | tuple[str, ...], options: dict[str, dict[str, Any]] | None,
             run: RunSettings, keep_going: bool, ranks: Ranks | None) -> dict[str, Any] | None:  # fmt: skip
    """:func:`compare` with its settings resolved; under torchrun (``ranks``) None on ranks other than 0."""
    dev = run.torch_device()
    if is_published_name(b) and not is_published_name(a):  # k-NN metrics are not symmetric: never swap silently
        raise InputError(f"{b} is a reference set: give it first (a is the reference, b the generated set): "
                         f"iqa compare {b} {a}")  # fmt: skip
    sides = {True: _Side(a, "a"), False: _Side(b, "b")}
    plans: dict[str, list[Plan]] = {}
    ready = prepare_metrics(metrics, options, check=_checker(list(sides.values()), plans), keep_going=keep_going)
    shared: dict[str, FeatureExtractor] = {}
    if ranks is not None:
        _extract_ranked(ready.built, sides, plans, shared, run, ranks, dev)
        leave_group()  # rank 0 computes alone: a metric's compute() would gather across a live group
        if not ranks.leader:
            return None
    result: dict[str, Any] = {}
    records: dict[str, Any] = {}
    skipped = dict(ready.skipped)
    for name, built in ready.built.items():
        m = cast(DistributionMetric, built).to(dev)  # the pre-flight check refused any other kind
        extractor = shared.setdefault(m.extractor.cache_key(), m.extractor)  # one extractor (and pass) per key
        try:
            out = _evaluate(m, name, sides, plans[name], extractor, run, dev)
        except (IQAError, ValueError, RuntimeError, OSError) as e:
            if not keep_going:
                raise
            skipped[name] = f"{name}: {e}"
            continue
        result.update(out.as_dict(name))
        records[name] = metric_provenance(name, m, {"n_real": out.n_real, "n_fake": out.n_fake})
    result["n_a"], result["n_b"] = sides[True].n, sides[False].n
    result["failed"] = sides[True].failed + sides[False].failed
    if skipped:
        result["skipped"] = skipped
    result["provenance"] = {
        "metrics": records,
        "sides": {"a": sides[True].provenance(), "b": sides[False].provenance()},
        "environment": environment(str(dev)),
    }
    return result


def _extract_ranked(built: dict[str, Any], sides: dict[bool, _Side], plans: dict[str, list[Plan]],
                    shared: dict[str, FeatureExtractor], run: RunSettings, ranks: Ranks,
                    dev: torch.device) -> None:  # fmt: skip
    """torchrun: the features of every image side for every extractor, split between the ranks.

    Runs on every rank in the same order (metrics, then sides), so the collectives match.
    """
    for name, m in built.items():
        m = cast(DistributionMetric, m).to(dev)
        extractor = shared.setdefault(m.extractor.cache_key(), m.extractor)
        for side, plan in zip(sides.values(), plans[name]):
            if plan == "images" and side.kind in IMAGE_SETS:
                side.extract_ranked(extractor, run, ranks)
