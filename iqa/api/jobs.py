"""Score a folder of images (optionally against a reference folder) in batches.

The item list is fixed by the folder listing (natural order) and the shard; it is cut into
chunks of ``batch_size`` items. Chunk boundaries never depend on what is already done, so a
resumed run recomputes an interrupted chunk with exactly the same batch composition and gets
bit-identical numbers. Within a chunk, images are grouped by size (mixed sizes are normal) and
each group runs as one batch per metric. Decoding happens in a thread pool one chunk ahead of the
metrics. A file that cannot be read, or that a metric rejects, gets an ``error`` and NaN scores;
the rest of the batch is still scored.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from iqa.errors import InputError, IQAError
from iqa.io.folders import Pair, plan_pairs
from iqa.io.images import array_to_tensor, decode_image
from iqa.metrics.base import FRMetric, Metric, NRMetric


@dataclass
class ScoreJob:
    """Settings of one folder-scoring run (see :func:`run_job`)."""

    root: Path
    metrics: dict[str, Metric]
    ref_root: Path | None = None
    batch_size: int = 16
    workers: int = 2
    device: str = "cpu"
    recursive: bool = False
    ref_pattern: str | None = None
    shard: tuple[int, int] = (1, 1)
    max_pixels: int | None = None
    alpha: str = "drop"
    _ref_cache: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.ref_root = Path(self.ref_root) if self.ref_root is not None else None
        if self.batch_size < 1:
            raise InputError(f"batch_size must be >= 1, got {self.batch_size}")
        for name, m in self.metrics.items():
            if isinstance(m, FRMetric) and self.ref_root is None:
                raise InputError(f"{name} is a full-reference metric: give the reference folder with --ref DIR")
            if not isinstance(m, (FRMetric, NRMetric)):
                raise InputError(f"{name} is a distribution metric; score two folders with `iqa compare`")

    @property
    def columns(self) -> list[str]:
        return ["file", "ref", *self.metrics, "error"]

    def meta(self) -> dict:
        """Settings that must match for a resume to be valid."""
        return {
            "metrics": {n: {k: _jsonable(v) for k, v in m.options().items()} for n, m in self.metrics.items()},
            "batch_size": self.batch_size,
            "shard": list(self.shard),
            "ref_pattern": self.ref_pattern,
            "alpha": self.alpha,
        }


def _jsonable(v: object) -> object:
    if isinstance(v, tuple):
        return list(v)
    return v if isinstance(v, (int, float, str, bool, type(None), list, dict)) else repr(v)


def plan_items(job: ScoreJob) -> list[Pair]:
    """The job's items in natural order, restricted to its shard."""
    return plan_pairs(job.root, job.ref_root, recursive=job.recursive, ref_pattern=job.ref_pattern, shard=job.shard)


def _decode(path: Path, job: ScoreJob) -> torch.Tensor | str:
    """Decode and convert to float32 (3, H, W) in the worker thread, so both run in parallel."""
    try:
        return array_to_tensor(decode_image(path, max_pixels=job.max_pixels, alpha=job.alpha))  # type: ignore[arg-type]
    except (IQAError, OSError, ValueError, MemoryError) as e:
        return str(e)


class _Decoded:
    """Futures of one chunk's decoded images; references are shared through a small cache."""

    def __init__(self, items: list[Pair], job: ScoreJob, pool: ThreadPoolExecutor):
        self.items = items
        self.img: list[Future] = [pool.submit(_decode, job.root / it.file, job) for it in items]
        self.ref: list[Future | None] = []
        for it in items:
            if it.ref is None:
                self.ref.append(None)
                continue
            fut = job._ref_cache.get(it.ref)
            if fut is None:
                fut = pool.submit(_decode, job.ref_root / it.ref, job)  # type: ignore[operator]
                job._ref_cache[it.ref] = fut
                if len(job._ref_cache) > 4 * job.batch_size:
                    job._ref_cache.popitem(last=False)
            else:
                job._ref_cache.move_to_end(it.ref)
            self.ref.append(fut)


def _to_batch(tensors: list[torch.Tensor], device: str) -> torch.Tensor:
    # A lone image is viewed, not copied: a 24-MP float image is 288 MB.
    batch = tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)
    return batch.to(device)


def _run_metric(m: Metric, img: torch.Tensor, ref: torch.Tensor | None) -> torch.Tensor:
    with torch.inference_mode():
        out = m(img, ref) if isinstance(m, FRMetric) else m(img)
    return out.detach().to("cpu", torch.float64)


def _score_group(job: ScoreJob, idx: list[int], imgs: list, refs: list, rows: list[dict]) -> None:
    img_t = _to_batch([imgs[i] for i in idx], job.device)
    ref_t = _to_batch([refs[i] for i in idx], job.device) if job.ref_root is not None else None
    for name, m in job.metrics.items():
        try:
            vals = _run_metric(m, img_t, ref_t).tolist()
            for i, v in zip(idx, vals):
                rows[i][name] = v
        except (IQAError, ValueError, RuntimeError) as batch_err:
            if len(idx) == 1:
                rows[idx[0]]["_errors"].append(f"{name}: {batch_err}")
                continue
            for j, i in enumerate(idx):  # isolate the failing image(s)
                try:
                    one_ref = ref_t[j : j + 1] if ref_t is not None else None
                    rows[i][name] = _run_metric(m, img_t[j : j + 1], one_ref).item()
                except (IQAError, ValueError, RuntimeError) as e:
                    rows[i]["_errors"].append(f"{name}: {e}")


def _score_chunk(job: ScoreJob, dec: _Decoded) -> list[dict]:
    rows = [{"file": it.file, "ref": it.ref or "", "_errors": [it.error] if it.error else []} for it in dec.items]
    for r in rows:
        r.update({name: math.nan for name in job.metrics})
    imgs = [f.result() for f in dec.img]
    refs = [f.result() if f is not None else None for f in dec.ref]
    groups: dict[tuple, list[int]] = {}
    for i, (it, a, b) in enumerate(zip(dec.items, imgs, refs)):
        if it.error:
            continue
        if isinstance(a, str):
            rows[i]["_errors"].append(a)
            continue
        if job.ref_root is not None:
            if isinstance(b, str):
                rows[i]["_errors"].append(f"reference {it.ref}: {b}")
                continue
            if a.shape != b.shape:
                rows[i]["_errors"].append(
                    f"size {a.shape[2]}x{a.shape[1]} differs from reference {it.ref} ({b.shape[2]}x{b.shape[1]})"
                )
                continue
        groups.setdefault((tuple(a.shape), None if b is None else tuple(b.shape)), []).append(i)
    for idx in groups.values():
        _score_group(job, idx, imgs, refs, rows)
    for r in rows:
        r["error"] = "; ".join(r.pop("_errors"))
    return rows


def run_job(job: ScoreJob, items: list[Pair], done: set[str], on_rows: Callable[[list[dict]], None]) -> Iterator[int]:
    """Score every item not in ``done``; call ``on_rows`` per chunk; yield items finished so far."""
    for m in job.metrics.values():
        m.to(job.device).eval()
    chunks = [items[i : i + job.batch_size] for i in range(0, len(items), job.batch_size)]
    todo = [c for c in chunks if any(it.file not in done for it in c)]
    finished = sum(len(c) for c in chunks) - sum(len(c) for c in todo)
    yield finished
    with ThreadPoolExecutor(max_workers=max(1, job.workers)) as pool:
        pending = _Decoded(todo[0], job, pool) if todo else None
        for n, chunk in enumerate(todo):
            current = pending
            pending = _Decoded(todo[n + 1], job, pool) if n + 1 < len(todo) else None
            rows = _score_chunk(job, current)  # type: ignore[arg-type]
            on_rows([r for r in rows if r["file"] not in done])
            finished += len(chunk)
            yield finished
