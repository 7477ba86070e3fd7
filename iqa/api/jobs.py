"""Score a folder of images (optionally against a reference folder) in batches.

The images come from a :class:`~iqa.io.sources.Source`: a folder (the default; ``root`` and
``ref_root``), webdataset tar shards, or a table of paths or bytes. The item list is fixed by the
source's listing (natural order) and the shard; it is cut into
chunks of at most ``batch_size`` items whose pixels (width x height of the distorted images, read
from the file headers) sum to at most ``max_batch_pixels``; an image larger than that budget is a
chunk of its own. Chunk boundaries never depend on what is already done, so a
resumed run recomputes an interrupted chunk with exactly the same batch composition and gets
bit-identical numbers. Memory follows the budget: one chunk is scored while the next is decoded,
and cached references are bounded by the same budget. Within a chunk, images are grouped by size (mixed sizes are normal) and
each group runs as one batch per metric. Decoding happens in a thread pool one chunk ahead of the
metrics. A file that cannot be read, or that a metric rejects, gets an ``error`` and NaN scores;
the rest of the batch is still scored. A pair with one side stored grey and the other colour
follows :func:`iqa.checks.mixed_channels` (refused by default: its ``error`` names both files).

Text-image metrics (kind ``"text"``) score each image against its prompt from a prompts CSV
(:mod:`iqa.io.prompts`): the rows gain a ``prompt`` column (what was scored; a resumed run rescores
a row whose prompt changed since) and a ``truncated`` column (the text-image metrics whose context
the prompt overflowed, cut as their reference does; counted in a warning at the end). An image
without a prompt gets an ``error``; under ``long_prompts="refuse"`` so does a prompt that is too long.

How the job runs (device, batch size, decoding threads, pixel limit, sub-folders, progress) is one
:class:`~iqa.api.settings.RunSettings`; :func:`score_job` is the whole run, from the folder to the
rows (and, given an output file, to a resumable journal and the final table). Other engines (Ray,
torchrun) run the same chunks: :func:`plan_job_chunks` cuts them and :func:`score_chunk` scores one,
so every engine gives the numbers of a single process.

Before any image is read, a run checks what it can: :func:`prepare_metrics` builds every metric
with downloads held back and reports every problem at once (naming the metric and what it needs),
:func:`output_problems` checks the output.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from iqa.api.job_prompts import done_with_same_prompt, warn_truncated, warn_unused_prompts
from iqa.api.preflight import output_problems, prepare_metrics, writable_problems  # noqa: F401 - re-exported
from iqa.api.results import ResultStore
from iqa.api.settings import RunSettings
from iqa.checks import MIXED_CHANNELS, MixedChannels, mixed_channels
from iqa.errors import InputError, IQAError
from iqa.io.folders import Header, Pair
from iqa.io.images import Alpha, array_to_tensor, decode_image
from iqa.io.prompts import PromptTable, read_prompts
from iqa.io.sources import FolderSource, ImageRef, Source, shard_items
from iqa.metrics.base import FRMetric, Metric, NRMetric, TextImageMetric
from iqa.transforms.color import apply_mixed

Row = dict[str, Any]
Decoded = torch.Tensor | str  # a (3, H, W) float image, or why it could not be read


@dataclass
class ScoreJob:
    """One folder-scoring run (see :func:`score_job`).

    Attributes:
        root: folder of the images to score, or any :class:`~iqa.io.sources.Source` (tar shards, a
            table); ``ref_root``, ``ref_pattern`` and ``settings.recursive`` apply to a folder only.
        metrics: column name -> per-image metric.
        ref_root: folder of the references (full-reference metrics).
        settings: device, batch size, decoding threads, pixel limit, sub-folders, progress.
        ref_pattern: regex mapping a file's stem to its reference's stem.
        shard: score only part K of N.
        alpha: how transparent images are flattened ("drop", "white", "black").
        mixed: a grey image paired with a colour one (or the reverse): "refuse" (the pair's
            ``error``), "gray" or "rgb" (see :func:`iqa.checks.mixed_channels`).
        prompts: the prompts CSV (or its table) of the text-image metrics (:mod:`iqa.io.prompts`).
    """

    root: Path | Source
    metrics: dict[str, Metric]
    ref_root: Path | None = None
    settings: RunSettings = field(default_factory=RunSettings)
    ref_pattern: str | None = None
    shard: tuple[int, int] = (1, 1)
    alpha: Alpha = "drop"
    mixed: MixedChannels = "refuse"
    prompts: Path | PromptTable | None = None
    _ref_cache: OrderedDict[str, tuple[Future[Decoded], int]] = field(default_factory=OrderedDict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.settings, RunSettings):
            raise InputError(f"settings must be a RunSettings, got {type(self.settings).__name__}")
        if isinstance(self.root, Source):
            if self.ref_root is not None:
                raise InputError("ref_root is for a folder source; the references of this source are in it")
            self.source: Source = self.root
        else:
            self.root = Path(self.root)
            self.ref_root = Path(self.ref_root) if self.ref_root is not None else None
            self.source = FolderSource(
                self.root, self.ref_root, recursive=self.settings.recursive, ref_pattern=self.ref_pattern
            )
        if self.mixed not in MIXED_CHANNELS:
            raise InputError(f"mixed must be one of {MIXED_CHANNELS}, got {self.mixed!r}")
        for name, m in self.metrics.items():
            if isinstance(m, FRMetric) and not self.source.paired:
                raise InputError(
                    f"{name} is a full-reference metric: give the references (--ref DIR for a folder, "
                    "--ref-key for tar shards and tables)"
                )
            if not isinstance(m, (FRMetric, NRMetric, TextImageMetric)):
                raise InputError(f"{name} is a distribution metric; score two folders with `iqa compare`")
        text = [n for n, m in self.metrics.items() if isinstance(m, TextImageMetric)]
        if text and self.prompts is None:
            raise InputError(
                f"{', '.join(text)} scores images against prompts: give the prompts file with --prompts prompts.csv "
                "(columns file,prompt)"
            )
        if self.prompts is not None and not text:
            raise InputError(f"prompts were given but no text-image metric is asked for ({', '.join(self.metrics)})")
        if self.prompts is not None and not isinstance(self.prompts, PromptTable):
            self.prompts = read_prompts(self.prompts)

    @property
    def table(self) -> PromptTable | None:
        """The prompts of a text-image job (None otherwise)."""
        return self.prompts if isinstance(self.prompts, PromptTable) else None

    @property
    def columns(self) -> list[str]:
        if self.table is not None:
            return ["file", "ref", "prompt", *self.metrics, "truncated", "error"]
        return ["file", "ref", *self.metrics, "error"]

    def meta(self) -> dict[str, Any]:
        """Settings that must match for a resume to be valid (batch size and pixel budget fix the chunks)."""
        return {
            "metrics": {n: {k: _jsonable(v) for k, v in m.options().items()} for n, m in self.metrics.items()},
            "batch_size": self.settings.batch_size,
            "max_batch_pixels": self.settings.max_batch_pixels,
            "shard": list(self.shard),
            "ref_pattern": self.ref_pattern,
            "alpha": self.alpha,
            "mixed": self.mixed,
        }


def _jsonable(v: object) -> object:
    if isinstance(v, tuple):
        return list(v)
    return v if isinstance(v, (int, float, str, bool, type(None), list, dict)) else repr(v)


def plan_items(job: ScoreJob) -> list[Pair]:
    """The job's items in natural order, restricted to its shard."""
    shard_items([], job.shard)  # an invalid shard is refused before the source is listed
    return shard_items(job.source.plan(), job.shard)


def plan_chunks(
    items: list[Pair], pixels: list[int], batch_size: int, max_batch_pixels: int | None
) -> list[list[Pair]]:
    """Consecutive items cut into chunks of at most ``batch_size`` items and ``max_batch_pixels`` pixels.

    ``pixels[i]`` is item i's pixel count. A chunk closes when the next item would exceed either
    limit; an item above the pixel budget alone is a chunk of its own (it still runs).
    ``max_batch_pixels=None`` bounds by count only.
    """
    chunks: list[list[Pair]] = []
    current: list[Pair] = []
    total = 0
    for it, p in zip(items, pixels, strict=True):
        over = max_batch_pixels is not None and total + p > max_batch_pixels
        if current and (len(current) == batch_size or over):
            chunks.append(current)
            current, total = [], 0
        current.append(it)
        total += p
    if current:
        chunks.append(current)
    return chunks


@dataclass
class _Headers:
    """File headers of a job's items (pixel counts, grey or colour), read once before decoding."""

    img: dict[str, Header] = field(default_factory=dict)
    ref: dict[str, Header] = field(default_factory=dict)

    @classmethod
    def read(cls, job: ScoreJob, items: list[Pair]) -> _Headers:
        heads = cls()
        src = job.source
        need_img = job.settings.max_batch_pixels is not None or src.paired
        for it in items:
            if it.error or not need_img:
                continue
            heads.img[it.file] = src.header(it.file)
            if it.ref is not None and src.paired and it.ref not in heads.ref:
                heads.ref[it.ref] = src.header(it.ref, ref=True)
        return heads

    def pixels(self, it: Pair) -> int:
        h = self.img.get(it.file)
        return h.pixels if h is not None else 0


def _decode(job: ScoreJob, key: str, ref: bool = False) -> Decoded:
    """Read (a tar member or table cell is read here too) and decode to float32 (3, H, W) in the
    worker thread, so reading, decoding and scoring run in parallel.
    """
    try:
        src: ImageRef = job.source.reference(key) if ref else job.source.image(key)
        return array_to_tensor(decode_image(src, max_pixels=job.settings.max_pixels, alpha=job.alpha))
    except (IQAError, OSError, ValueError, MemoryError) as e:
        return str(e)


class _Decoded:
    """Futures of one chunk's decoded images; references are shared through a small cache."""

    def __init__(self, items: list[Pair], job: ScoreJob, pool: ThreadPoolExecutor, heads: _Headers):
        self.items = items
        self.heads = heads
        self.img: list[Future[Decoded]] = [pool.submit(_decode, job, it.file) for it in items]
        self.ref: list[Future[Decoded] | None] = []
        cache = job._ref_cache
        for it in items:
            if it.ref is None or not job.source.paired:
                self.ref.append(None)
                continue
            hit = cache.get(it.ref)
            if hit is None:
                head = heads.ref.get(it.ref)
                hit = (pool.submit(_decode, job, it.ref, True), head.pixels if head else 0)
                cache[it.ref] = hit
                _trim(cache, job.settings)
            else:
                cache.move_to_end(it.ref)
            self.ref.append(hit[0])


def _trim(cache: OrderedDict[str, tuple[Future[Decoded], int]], settings: RunSettings) -> None:
    """Forget the oldest references beyond 4 batches' count or one pixel budget (keeping the newest).

    A forgotten reference that a chunk still uses stays alive with that chunk; a later pair decodes
    it again. Without the pixel bound, 24-MP references alone filled gigabytes.
    """
    budget = settings.max_batch_pixels
    while len(cache) > 1 and (
        len(cache) > 4 * settings.batch_size or (budget is not None and sum(p for _, p in cache.values()) > budget)
    ):
        cache.popitem(last=False)


def _to_batch(tensors: list[torch.Tensor], device: torch.device) -> torch.Tensor:
    # A lone image is viewed, not copied: a 24-MP float image is 288 MB.
    batch = tensors[0].unsqueeze(0) if len(tensors) == 1 else torch.stack(tensors)
    return batch.to(device)


def _run_metric(m: Metric, img: torch.Tensor, ref: torch.Tensor | None, texts: list[str] | None = None) -> torch.Tensor:
    with torch.inference_mode():
        if isinstance(m, TextImageMetric):
            out = m.score_pairs(img, texts or [], None)  # prompt lengths were checked and flagged per row
        else:
            out = m(img, ref) if isinstance(m, FRMetric) else m(img)
    return out.detach().to("cpu", torch.float64)


@dataclass
class _Group:
    """Images of one size (and their references) scored as one batch per metric."""

    rows: list[int]  # indices into the chunk's rows
    imgs: list[torch.Tensor]
    refs: list[torch.Tensor] | None
    texts: list[str] = field(default_factory=list)  # the rows' prompts (text-image jobs)


def _score_group(job: ScoreJob, g: _Group, rows: list[Row], errors: list[list[str]], device: torch.device) -> None:
    img_t = _to_batch(g.imgs, device)
    ref_t = _to_batch(g.refs, device) if g.refs is not None else None
    for name, m in job.metrics.items():
        if isinstance(m, TextImageMetric):
            _score_text_group(name, m, g, img_t, rows, errors)
            continue
        try:
            for i, v in zip(g.rows, _run_metric(m, img_t, ref_t).tolist()):
                rows[i][name] = v
        except (IQAError, ValueError, RuntimeError) as batch_err:
            if len(g.rows) == 1:
                errors[g.rows[0]].append(f"{name}: {batch_err}")
                continue
            for j, i in enumerate(g.rows):  # isolate the failing image(s)
                try:
                    one_ref = ref_t[j : j + 1] if ref_t is not None else None
                    rows[i][name] = _run_metric(m, img_t[j : j + 1], one_ref).item()
                except (IQAError, ValueError, RuntimeError) as e:
                    errors[i].append(f"{name}: {e}")


def _score_text_group(
    name: str, m: TextImageMetric, g: _Group, img_t: torch.Tensor, rows: list[Row], errors: list[list[str]]
) -> None:
    """One text-image metric on a group: each prompt checked on its own (a refused one is its row's
    error, a truncated one flagged in its row), the others scored as one batch (or one by one if it fails).
    """
    keep: list[int] = []
    for j, (i, text) in enumerate(zip(g.rows, g.texts)):
        try:
            if m.prompt_overflow([text])[0]:
                rows[i]["truncated"] = ";".join(filter(None, [rows[i]["truncated"], name]))
            keep.append(j)
        except InputError as e:
            errors[i].append(str(e))
    if not keep:
        return
    sub = img_t if len(keep) == len(g.rows) else img_t[keep]
    texts = [g.texts[j] for j in keep]
    try:
        for j, v in zip(keep, _run_metric(m, sub, None, texts).tolist()):
            rows[g.rows[j]][name] = v
    except (IQAError, ValueError, RuntimeError) as batch_err:
        for k, j in enumerate(keep):  # isolate the failing image(s)
            try:
                rows[g.rows[j]][name] = _run_metric(m, sub[k : k + 1], None, texts[k : k + 1]).item()
            except (IQAError, ValueError, RuntimeError) as e:
                errors[g.rows[j]].append(f"{name}: {e if len(keep) > 1 else batch_err}")


def _groups(job: ScoreJob, dec: _Decoded, errors: list[list[str]], prompts: list[str] | None = None) -> list[_Group]:
    """Readable items grouped by image (and reference) size; the others get their error."""
    groups: dict[tuple[tuple[int, ...], tuple[int, ...] | None], _Group] = {}
    for i, (it, fa, fb) in enumerate(zip(dec.items, dec.img, dec.ref)):
        a, b = fa.result(), (fb.result() if fb is not None else None)
        if errors[i]:  # no pair, or no prompt
            continue
        if isinstance(a, str):
            errors[i].append(a)
            continue
        if job.source.paired:
            if not isinstance(b, torch.Tensor):
                errors[i].append(f"reference {it.ref}: {b}")
                continue
            if a.shape != b.shape:
                errors[i].append(
                    f"size {a.shape[2]}x{a.shape[1]} differs from reference {it.ref} ({b.shape[2]}x{b.shape[1]})"
                )
                continue
            try:
                a, b = _match_channels(job, dec.heads, it, a, b)
            except InputError as e:
                errors[i].append(str(e))
                continue
        ref = b if isinstance(b, torch.Tensor) else None
        key = (tuple(a.shape), None if ref is None else tuple(ref.shape))
        g = groups.setdefault(key, _Group([], [], [] if ref is not None else None))
        g.rows.append(i)
        g.imgs.append(a)
        g.texts.append(prompts[i] if prompts is not None else "")
        if g.refs is not None and ref is not None:
            g.refs.append(ref)
    return list(groups.values())


def _match_channels(
    job: ScoreJob, heads: _Headers, it: Pair, a: torch.Tensor, b: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """The pair under the mixed-channel rule (files decode to 3 channels; headers say which was grey).

    Accepted pairs were warned about by :func:`warn_mixed` before decoding started.
    """
    ha, hb = heads.img.get(it.file), heads.ref.get(it.ref or "")
    if ha is None or hb is None or ha.gray == hb.gray:
        return a, b
    mixed_channels(ha.gray, hb.gray, it.file, it.ref or "", job.mixed)  # raises under "refuse"
    return apply_mixed(a, b, ha.gray, job.mixed)


def warn_mixed(job: ScoreJob, items: list[Pair], heads: _Headers, limit: int = 10) -> None:
    """One warning per accepted mixed pair (the first ``limit``, then a count), before any decoding.

    Emitted here, with no decoding thread running, because ``warnings.catch_warnings`` in a decoding
    thread swaps the process-wide filters and can swallow a warning the main thread emits meanwhile.
    """
    if job.mixed == "refuse":
        return
    notes = []
    for it in items:
        ha, hb = heads.img.get(it.file), heads.ref.get(it.ref or "")
        if ha is not None and hb is not None and ha.gray != hb.gray:
            notes.append(mixed_channels(ha.gray, hb.gray, it.file, it.ref or "", job.mixed))
    for note in notes[:limit]:
        warnings.warn(note or "", UserWarning, stacklevel=3)
    if len(notes) > limit:
        warnings.warn(
            f"... and {len(notes) - limit} more pairs of a grey and a colour image", UserWarning, stacklevel=3
        )


def _score_chunk(job: ScoreJob, dec: _Decoded, device: torch.device) -> list[Row]:
    rows: list[Row] = [
        {"file": it.file, "ref": it.ref or "", **dict.fromkeys(job.metrics, math.nan)} for it in dec.items
    ]
    errors: list[list[str]] = [[it.error] if it.error else [] for it in dec.items]
    prompts = None
    if job.table is not None:
        prompts = []
        for r, e in zip(rows, errors):
            prompt, why = job.table.lookup(r["file"])
            r["prompt"], r["truncated"] = prompt or "", ""
            prompts.append(prompt or "")
            if why and not e:
                e.append(why)
    for g in _groups(job, dec, errors, prompts):
        _score_group(job, g, rows, errors, device)
    for r, e in zip(rows, errors):
        r["error"] = "; ".join(e)
    return rows


def plan_job_chunks(job: ScoreJob, items: list[Pair]) -> tuple[list[list[Pair]], _Headers]:
    """``items`` cut into the job's chunks (as every engine runs them), and the headers read for it."""
    heads = _Headers.read(job, items)
    pixels = [heads.pixels(it) for it in items]
    return plan_chunks(items, pixels, job.settings.batch_size, job.settings.max_batch_pixels), heads


def score_chunk(
    job: ScoreJob, chunk: list[Pair], pool: ThreadPoolExecutor | None = None, heads: _Headers | None = None
) -> list[Row]:
    """The rows of one chunk (read, decoded and scored here), as :func:`score_job` writes them.

    For engines that hand chunks to other processes (the metrics must already be on the job's
    device, in eval mode). Headers are read for the chunk when not given.
    """
    heads = heads if heads is not None else _Headers.read(job, chunk)
    if pool is None:
        with ThreadPoolExecutor(max_workers=max(1, job.settings.workers)) as own:
            return _score_chunk(job, _Decoded(chunk, job, own, heads), job.settings.torch_device())
    return _score_chunk(job, _Decoded(chunk, job, pool, heads), job.settings.torch_device())


def prepare_job(job: ScoreJob) -> torch.device:
    """The job's metrics moved to its device in eval mode; the device."""
    device = job.settings.torch_device()
    for m in job.metrics.values():
        m.to(device).eval()
    return device


def run_job(job: ScoreJob, items: list[Pair], done: set[str], on_rows: Callable[[list[Row]], None]) -> Iterator[int]:
    """Score every item not in ``done``; call ``on_rows`` per chunk; yield items finished so far."""
    device = prepare_job(job)
    chunks, heads = plan_job_chunks(job, items)
    todo = [c for c in chunks if any(it.file not in done for it in c)]
    warn_mixed(job, [it for c in todo for it in c if it.file not in done], heads)
    finished = sum(len(c) for c in chunks) - sum(len(c) for c in todo)
    yield finished
    with ThreadPoolExecutor(max_workers=max(1, job.settings.workers)) as pool:
        for dec in _one_ahead(todo, job, pool, heads):
            rows = _score_chunk(job, dec, device)
            on_rows([r for r in rows if r["file"] not in done])
            finished += len(dec.items)
            del dec  # the next chunk's decoding starts when this loop asks for it: hold two chunks, not three
            yield finished


def _one_ahead(
    chunks: list[list[Pair]], job: ScoreJob, pool: ThreadPoolExecutor, heads: _Headers
) -> Iterator[_Decoded]:
    """Each chunk's decoding, with the next chunk's already submitted when it is handed out."""
    if not chunks:
        return
    current = _Decoded(chunks[0], job, pool, heads)
    for chunk in chunks[1:]:
        upcoming = _Decoded(chunk, job, pool, heads)
        yield current
        current = upcoming
    yield current


def score_job(
    job: ScoreJob,
    output: str | Path | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    items: list[Pair] | None = None,
    label: str = "scoring",
) -> list[Row]:
    """Run ``job`` to the end and return its rows in natural file order.

    With ``output`` (.csv, .json or .parquet) rows are journaled as chunks finish and the final
    table is written atomically (:class:`~iqa.api.results.ResultStore`): ``resume`` continues an
    interrupted run, ``overwrite`` starts again. Progress goes to ``job.settings.progress`` as
    ``(label, done, total)``.

    Args:
        job: what to score and how.
        output: the table to write, or None to only return the rows.
        resume: continue ``output`` (its journal and any final file) where it stopped.
        overwrite: replace an existing ``output``.
        items: the items to score (default: :func:`plan_items`).
        label: the progress label.

    Raises:
        OutputExistsError: ``output`` exists and neither ``resume`` nor ``overwrite`` is set.
        InputError: ``resume`` or a shard without an ``output``; a journal written with other settings;
            an ``output`` that could not be written (its format's library missing, its folder not writable).
    """
    if output is None and (resume or job.shard != (1, 1)):
        raise InputError("resuming and sharding need an output file (-o out.csv)")
    problems = writable_problems(Path(output)) if output else []
    if problems:  # before any image is read, not after the last one
        raise InputError("; ".join(problems))
    items = plan_items(job) if items is None else items
    warn_unused_prompts(job.table, job.source.label, items, sharded=job.shard != (1, 1))
    store = ResultStore(Path(output), job.columns, job.meta(), resume=resume, overwrite=overwrite) if output else None
    rows: list[Row] = []
    progress = job.settings.progress
    done = done_with_same_prompt(job.table, store) if store else set()
    for n in run_job(job, items, done, store.append if store else rows.extend):
        if progress is not None:
            progress(label, n, len(items))
    if store is not None:
        keys = {it.file for it in items}
        rows = [r for r in store.finalize() if r["file"] in keys]
    warn_truncated(job.table, rows)
    return rows
