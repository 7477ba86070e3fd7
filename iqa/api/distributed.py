"""torchrun: ``torchrun --nproc-per-node N -m iqa score|compare ...`` splits a job by rank on one node.

torchrun starts N copies of the command with ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK`` set
(:func:`torchrun_ranks` reads them). The work is split by CHUNKS, never by items: rank 0 plans the
items and cuts them into the chunks one process would run (:func:`iqa.api.jobs.plan_job_chunks`,
:func:`iqa.api.features.feature_chunks`), and rank r runs chunks ``i % N == r``. A value therefore
comes from the same batch as in one process, bit for bit, whatever N is.

Scoring (:func:`score_job_ranks`): each rank journals its rows to a part file next to the output
(``<out>.rank<r>of<N>.csv.partial.jsonl``, a :class:`~iqa.api.results.ResultStore` journal) so an
interrupted run resumes; rank 0 gathers every rank's rows and writes ONE output (atomic; the
columns and format of ``iqa score``), then removes the parts. A resumed run takes the rows of every
part it finds, whatever N wrote them. Comparing: see :func:`iqa.api.comparison.compare_ranks`.

The process group is gloo on the CPU and nccl when the run's device is CUDA; each rank then runs
on ``cuda:LOCAL_RANK`` (:func:`process_group`).
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.distributed as dist

from iqa.api.job_chunks import DecodedChunk, rows_of_chunk
from iqa.api.job_prompts import done_with_same_prompt, warn_truncated, warn_unused_prompts
from iqa.api.jobs import Row, ScoreJob, plan_items, plan_job_chunks, prepare_job, warn_mixed
from iqa.api.preflight import writable_problems
from iqa.api.results import ResultStore, journal_path
from iqa.errors import InputError, IQAError

T = TypeVar("T")

__all__ = ["Ranks", "leave_group", "process_group", "score_job_ranks", "torchrun_ranks"]


@dataclass(frozen=True)
class Ranks:
    """This process's place in a torchrun world: its rank, the number of ranks, its rank on the node."""

    rank: int
    world: int
    local_rank: int

    @property
    def leader(self) -> bool:
        """Rank 0: plans, gathers, writes and prints."""
        return self.rank == 0

    def mine(self, n_chunks: int) -> list[int]:
        """The chunk numbers this rank runs: ``i % world == rank``."""
        return list(range(self.rank, n_chunks, self.world))


def torchrun_ranks(
    environ: dict[str, str] | None = None, *, shard: str | tuple[int, int] | None = None, engine: str | None = None
) -> Ranks | None:
    """This process's ranks when torchrun started it with more than one rank (``WORLD_SIZE`` > 1), else None.

    Raises:
        InputError: a torchrun environment that does not parse; ``shard`` (torchrun already splits
            the job, and N processes of one shard would each write the shard's output) or
            ``engine="ray"`` (Ray schedules its own workers) under torchrun.
    """
    env = os.environ if environ is None else environ
    try:
        world = int(env.get("WORLD_SIZE", "1") or "1")
        if world <= 1:
            return None
        ranks = Ranks(int(env["RANK"]), world, int(env.get("LOCAL_RANK", env["RANK"])))
    except (KeyError, ValueError):
        raise InputError(
            f"WORLD_SIZE={env.get('WORLD_SIZE')!r} says torchrun started this process, but RANK="
            f"{env.get('RANK')!r} / LOCAL_RANK={env.get('LOCAL_RANK')!r} are not integers; start it with "
            "`torchrun --nproc-per-node N -m iqa ...`, or unset WORLD_SIZE for one process"
        ) from None
    if not 0 <= ranks.rank < world:
        raise InputError(f"RANK={ranks.rank} is outside 0..{world - 1} (WORLD_SIZE={world})")
    if shard not in (None, (1, 1), "1/1"):
        raise InputError(
            f"--shard {shard} with torchrun: torchrun already splits the job between its {world} ranks "
            "(and all of them would write the one shard's output). Run either torchrun over the whole "
            "input, or one `iqa score --shard K/N` process per shard"
        )
    if engine not in (None, "local", "torchrun"):
        raise InputError(
            f"--engine {engine} with torchrun: the Ray engine schedules its own workers; run "
            f"`iqa score --engine {engine}` as one process (not under torchrun), or drop --engine"
        )
    return ranks


def rank_device(ranks: Ranks, device: str) -> str:
    """The device of this rank: ``cuda:LOCAL_RANK`` when the run asks for ``cuda``, else ``device``.

    Raises:
        InputError: a CUDA index (``cuda:1``) under torchrun, where every rank would share that GPU.
    """
    kind, _, index = str(device).partition(":")
    if kind != "cuda":
        return str(device)
    if index:
        raise InputError(
            f"--device {device} with torchrun: every rank would run on that one GPU; pass --device cuda and "
            "each rank takes cuda:LOCAL_RANK (choose the GPUs with CUDA_VISIBLE_DEVICES)"
        )
    return f"cuda:{ranks.local_rank}"


@contextmanager
def process_group(ranks: Ranks, device: str) -> Iterator[str]:
    """Join the torchrun process group (gloo; nccl on CUDA) for the block; yields this rank's device.

    The group is destroyed at the end of the block, also on an error (a rank that raises exits; torchrun
    then stops the others).
    """
    dev = rank_device(ranks, device)
    backend = "nccl" if dev.startswith("cuda") else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(dev)  # object collectives on nccl run on the current device
    owned = not dist.is_initialized()
    if owned:
        dist.init_process_group(backend=backend, init_method="env://", rank=ranks.rank, world_size=ranks.world)
    try:
        yield dev
    finally:
        if owned and dist.is_initialized():
            dist.destroy_process_group()


def leave_group() -> None:
    """Destroy the process group now (all ranks call it), e.g. before rank 0 computes alone: a metric's
    ``compute()`` gathers its state across an initialised group (:mod:`iqa.stats.distributed`).
    """
    if dist.is_initialized():
        dist.destroy_process_group()


def broadcast(ranks: Ranks, make: Any) -> Any:
    """``make()`` run on rank 0 and its value given to every rank; an error there is raised on every rank.

    ``make`` is a callable; an :class:`~iqa.errors.IQAError` or ``OSError`` it raises reaches every
    rank (so none waits for a collective that rank 0 will never join).
    """
    box: list[Any] = [None]
    if ranks.leader:
        try:
            box[0] = ("ok", make())
        except (IQAError, OSError) as e:
            box[0] = ("error", e)
    dist.broadcast_object_list(box, src=0)
    status, value = box[0]
    if status == "error":
        raise value
    return value


def agree(ranks: Ranks, make: Any) -> Any:
    """``make()`` on every rank; if it raised an IQAError/OSError on any rank, every rank raises the first one."""
    try:
        mine: tuple[str, Any] = ("ok", make())
    except (IQAError, OSError) as e:
        mine = ("error", e)
    everyone: list[Any] = [None] * ranks.world
    dist.all_gather_object(everyone, (mine[0], mine[1] if mine[0] == "error" else None))
    for status, err in everyone:
        if status == "error":
            raise err
    return mine[1]


def gather(ranks: Ranks, value: T) -> list[T] | None:
    """Every rank's ``value`` on rank 0 (in rank order); None on the other ranks."""
    out: list[Any] | None = [None] * ranks.world if ranks.leader else None
    dist.gather_object(value, out, dst=0)
    return out


def any_rank(ranks: Ranks, flag: bool) -> bool:
    """Whether ``flag`` is true on any rank (every rank gets the answer)."""
    everyone: list[Any] = [None] * ranks.world
    dist.all_gather_object(everyone, bool(flag))
    return any(everyone)


def part_path(output: Path, rank: int, world: int) -> Path:
    """Where rank ``rank`` of ``world`` journals its rows: ``<out>.rank<r>of<N>.csv`` (only its journal exists)."""
    return output.with_name(f"{output.name}.rank{rank}of{world}.csv")


def leftover_parts(output: Path) -> list[Path]:
    """Part journals of earlier torchrun runs into ``output`` (any N), as the part paths."""
    pattern = glob.escape(str(output.with_name(output.name))) + ".rank*of*.csv.partial.jsonl"
    return sorted(Path(p[: -len(".partial.jsonl")]) for p in glob.glob(pattern))


@dataclass
class _Plan:
    """What rank 0 hands every rank: the items, their chunks, the headers read for them, rows done."""

    items: list[Any]
    chunks: list[list[Any]]
    heads: Any
    done: set[str]


def _open_final(job: ScoreJob, output: Path, resume: bool, overwrite: bool) -> ResultStore:
    """Rank 0's store of the final output; on resume it takes in the rows of every part left behind."""
    problems = writable_problems(output)
    if problems:  # before any image is read, not after the last one
        raise InputError("; ".join(problems))
    parts = leftover_parts(output)
    if parts and not (resume or overwrite):
        raise InputError(
            f"{journal_path(parts[0])} is left from an interrupted torchrun run into {output}; pass --resume to "
            "continue it or --overwrite to start again"
        )
    final = ResultStore(output, job.columns, job.meta(), resume=resume, overwrite=overwrite)
    try:
        for part in parts:
            if resume:
                with ResultStore(part, job.columns, job.meta(), resume=True) as old:
                    final.append([r for k, r in old.rows.items() if k not in final.rows])
            journal_path(part).unlink(missing_ok=True)  # its rows are in the final journal now
    except BaseException:
        final.close()
        raise
    return final


def score_job_ranks(
    job: ScoreJob,
    output: str | Path | None,
    ranks: Ranks,
    *,
    resume: bool = False,
    overwrite: bool = False,
    label: str = "scoring",
) -> tuple[list[Row] | None, bool]:
    """:func:`iqa.api.jobs.score_job` split between torchrun ranks: (the rows on rank 0, else None;
    whether any row failed, on every rank).

    Rank 0 plans the items and chunks and broadcasts them; rank r scores chunks ``i % N == r`` (as
    :func:`~iqa.api.jobs.score_chunk` does, decoding one chunk ahead) and journals its rows (with ``output``) to its part file;
    rank 0 gathers all rows and writes ``output`` once, or returns them in item order. Progress
    (rank 0's share) goes to ``job.settings.progress`` on rank 0 only. The process group is joined
    here and left at the end.

    Raises:
        InputError: as :func:`~iqa.api.jobs.score_job`, on every rank; a sharded job.
    """
    if job.shard != (1, 1):
        torchrun_ranks({"WORLD_SIZE": str(ranks.world), "RANK": "0"}, shard=job.shard)
    out = Path(output) if output is not None else None
    if out is None and resume:
        raise InputError("resuming needs an output file (-o out.csv)")
    with process_group(ranks, job.settings.device) as dev:
        job.settings = job.settings.replace(device=dev, progress=job.settings.progress if ranks.leader else None)
        final: ResultStore | None = None

        def plan() -> _Plan:
            nonlocal final
            items = plan_items(job)
            warn_unused_prompts(job.table, job.source.label, items)
            if out is not None:
                final = _open_final(job, out, resume, overwrite)
            done = done_with_same_prompt(job.table, final) if final is not None else set()
            chunks, heads = plan_job_chunks(job, items)
            warn_mixed(job, [it for it in items if it.file not in done], heads)
            return _Plan(items, chunks, heads, done)

        try:
            p: _Plan = broadcast(ranks, plan)
            rows = _score_share(job, p, ranks, out, overwrite=overwrite, label=label)
            everyone = gather(ranks, rows)
            result = _assemble(job, p, final, everyone) if ranks.leader else None
        finally:
            if final is not None:
                final.close()  # after finalize() there is nothing left to close
        if result is not None and out is not None:
            for r in range(ranks.world):
                journal_path(part_path(out, r, ranks.world)).unlink(missing_ok=True)
        failed = any_rank(ranks, result is not None and any(r["error"] for r in result))
    return result, failed


def _score_share(job: ScoreJob, p: _Plan, ranks: Ranks, out: Path | None, *, overwrite: bool, label: str) -> list[Row]:
    """Score this rank's chunks (journaled to its part when there is an output); its rows."""
    prepare_job(job)
    mine = [p.chunks[i] for i in ranks.mine(len(p.chunks))]
    part = part_path(out, ranks.rank, ranks.world) if out is not None else None
    # The part is new (rank 0 took in and removed any older one); overwrite clears a torn leftover.
    store: ResultStore | None = agree(
        ranks, lambda: ResultStore(part, job.columns, job.meta(), overwrite=True) if part is not None else None
    )
    rows: list[Row] = []
    todo = [c for c in mine if any(it.file not in p.done for it in c)]
    progress, total = job.settings.progress, sum(len(c) for c in mine)
    finished = total - sum(len(c) for c in todo)
    device = job.settings.torch_device()
    try:
        with ThreadPoolExecutor(max_workers=max(1, job.settings.workers)) as pool:
            upcoming = DecodedChunk(todo[0], job, pool, p.heads) if todo else None
            for n in range(len(todo)):
                dec = upcoming
                assert dec is not None
                # decode the next chunk while this one is scored, as one process does
                upcoming = DecodedChunk(todo[n + 1], job, pool, p.heads) if n + 1 < len(todo) else None
                new = [r for r in rows_of_chunk(job, dec, device) if r["file"] not in p.done]
                if store is not None:
                    store.append(new)
                rows += new
                finished += len(dec.items)
                del dec
                if progress is not None:
                    progress(f"{label} (rank 0 of {ranks.world})", finished, total)
    finally:
        if store is not None:
            store.close()  # the journal stays until rank 0 has written the output
    return rows


def _assemble(job: ScoreJob, p: _Plan, final: ResultStore | None, everyone: list[list[Row]] | None) -> list[Row]:
    """Rank 0: every rank's rows as one table (written to the output when there is one), in item order."""
    assert everyone is not None
    rows = [r for part in everyone for r in part]
    if final is not None:
        final.append(rows)
        keys = {it.file for it in p.items}
        out = [r for r in final.finalize() if r["file"] in keys]
    else:
        by_file = {r["file"]: r for r in rows}
        out = [by_file[it.file] for it in p.items]
    warn_truncated(job.table, out)
    return out
