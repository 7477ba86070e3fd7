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

from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from iqa.api.job_chunks import (  # noqa: F401 - plan_chunks and Decoded are re-exported
    Decoded,
    DecodedChunk,
    Headers,
    Row,
    plan_chunks,
    rows_of_chunk,
    warn_mixed,
)
from iqa.api.job_prompts import done_with_same_prompt, warn_truncated, warn_unused_prompts
from iqa.api.preflight import output_problems, prepare_metrics, writable_problems  # noqa: F401 - re-exported
from iqa.api.results import ResultStore
from iqa.api.settings import RunSettings
from iqa.checks import MIXED_CHANNELS, MixedChannels
from iqa.errors import InputError
from iqa.io.folders import Pair
from iqa.io.images import Alpha
from iqa.io.prompts import PromptTable, read_prompts
from iqa.io.sources import FolderSource, Source, shard_items
from iqa.metrics.base import FRMetric, Metric, NRMetric, TextImageMetric


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


def plan_job_chunks(job: ScoreJob, items: list[Pair]) -> tuple[list[list[Pair]], Headers]:
    """``items`` cut into the job's chunks (as every engine runs them), and the headers read for it."""
    heads = Headers.read(job, items)
    pixels = [heads.pixels(it) for it in items]
    return plan_chunks(items, pixels, job.settings.batch_size, job.settings.max_batch_pixels), heads


def score_chunk(
    job: ScoreJob, chunk: list[Pair], pool: ThreadPoolExecutor | None = None, heads: Headers | None = None
) -> list[Row]:
    """The rows of one chunk (read, decoded and scored here), as :func:`score_job` writes them.

    For engines that hand chunks to other processes (the metrics must already be on the job's
    device, in eval mode). Headers are read for the chunk when not given.
    """
    heads = heads if heads is not None else Headers.read(job, chunk)
    if pool is None:
        with ThreadPoolExecutor(max_workers=max(1, job.settings.workers)) as own:
            return rows_of_chunk(job, DecodedChunk(chunk, job, own, heads), job.settings.torch_device())
    return rows_of_chunk(job, DecodedChunk(chunk, job, pool, heads), job.settings.torch_device())


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
            rows = rows_of_chunk(job, dec, device)
            on_rows([r for r in rows if r["file"] not in done])
            finished += len(dec.items)
            del dec  # the next chunk's decoding starts when this loop asks for it: hold two chunks, not three
            yield finished


def _one_ahead(
    chunks: list[list[Pair]], job: ScoreJob, pool: ThreadPoolExecutor, heads: Headers
) -> Iterator[DecodedChunk]:
    """Each chunk's decoding, with the next chunk's already submitted when it is handed out."""
    if not chunks:
        return
    current = DecodedChunk(chunks[0], job, pool, heads)
    for chunk in chunks[1:]:
        upcoming = DecodedChunk(chunk, job, pool, heads)
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
