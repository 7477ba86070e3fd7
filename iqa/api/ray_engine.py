"""Run a scoring job on a Ray cluster: ``iqa score SRC --engine ray [--address ADDR]``.

The driver plans the items and cuts the chunks exactly as a single process does
(:func:`~iqa.api.jobs.plan_items`, :func:`~iqa.api.jobs.plan_job_chunks`), so every engine scores
the same batches and gets bit-identical numbers. Each chunk is one ``ray.data`` row (its pairs as
JSON); a pool of actors (``ActorPoolStrategy``) scores them with
:func:`~iqa.api.jobs.score_chunk`. An actor builds its metrics once, from their names and options
(a network is never pickled), and checks that its job's settings equal the driver's. Rows come back
as one JSON string per chunk (float64 and NaN survive exactly; no Arrow cast touches them) and are
streamed into the same :class:`~iqa.api.results.ResultStore` journal as ``iqa score``, so the
output columns, the ``error`` column, the atomic final table and ``--resume`` behave the same.

Faults: Ray Data's actor pools restart a dead actor and retry its tasks by default in Ray 2.60
(``max_restarts=-1``, ``max_task_retries=-1`` in ``ActorPoolMapOperator``); they are set here
explicitly, with a bounded number of retries per chunk so that a chunk that kills its worker every
time fails the run (the journal keeps what is done, for ``--resume``) instead of looping. A row's
error never fails the job (:func:`~iqa.api.jobs.score_chunk` records it in the row), and the driver
keeps the first copy of each file's row, so a retried chunk can neither lose nor duplicate one.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from iqa.api.core import create
from iqa.api.job_prompts import done_with_same_prompt, warn_truncated, warn_unused_prompts
from iqa.api.jobs import Row, ScoreJob, plan_items, plan_job_chunks, prepare_job, score_chunk, warn_mixed
from iqa.api.preflight import writable_problems
from iqa.api.results import ResultStore
from iqa.api.settings import RunSettings
from iqa.checks import MixedChannels
from iqa.errors import InputError, IQAError, MissingDependencyError
from iqa.io.folders import Pair
from iqa.io.images import Alpha
from iqa.io.prompts import PromptTable
from iqa.io.sources import FolderSource, Source

RAY_HINT = "pip install 'iqa[ray]'"
# Environment the workers need to find weights and caches as the driver does (a remote node does
# not inherit the driver's environment).
FORWARDED_ENV = ("IQA_WEIGHTS_DIR", "IQA_OFFLINE", "IQA_CACHE_DIR", "IQA_MAX_PIXELS")
MAX_CHUNK_RETRIES = 3  # a chunk whose worker dies this many more times fails the run

MetricRecipe = dict[str, tuple[str, dict[str, Any]]]  # column -> (registry name, options)


def require_ray() -> ModuleType:
    """The ``ray`` module with Ray Data, or a :class:`MissingDependencyError` with the install command."""
    try:
        import ray
        import ray.data  # noqa: F401 - Ray Data is the part used
    except ImportError:
        raise MissingDependencyError(f"the Ray engine needs Ray Data: {RAY_HINT}") from None
    return ray


@dataclass(frozen=True)
class JobRecipe:
    """What an actor needs to rebuild the driver's job: picklable, with metric names instead of networks."""

    source: Source
    metrics: MetricRecipe
    settings: RunSettings
    ref_pattern: str | None
    shard: tuple[int, int]
    alpha: Alpha
    mixed: MixedChannels
    prompts: PromptTable | None
    meta: dict[str, Any]  # the driver job's resume settings; the rebuilt job must have the same

    def build(self) -> ScoreJob:
        """The job with its metrics built here and moved to its device.

        Raises:
            InputError: the metrics built here report other options than the driver's.
        """
        metrics = {col: create(name, **opts) for col, (name, opts) in self.metrics.items()}
        job = ScoreJob(
            root=self.source,
            metrics=metrics,
            settings=self.settings,
            ref_pattern=self.ref_pattern,
            shard=self.shard,
            alpha=self.alpha,
            mixed=self.mixed,
            prompts=self.prompts,
        )
        if job.meta() != self.meta:
            raise InputError(
                f"a Ray worker built its metrics with other settings ({job.meta()['metrics']}) than the driver "
                f"({self.meta['metrics']}); pass every metric's options to score_on_ray(options=...)"
            )
        prepare_job(job)
        return job


def job_recipe(job: ScoreJob, options: dict[str, dict[str, Any]] | None = None) -> JobRecipe:
    """The recipe of ``job``: each column's metric by its registry name and ``options[column]``.

    The source's folders are made absolute (a worker's working folder is not the driver's); the
    progress callback stays on the driver.
    """
    options = options or {}
    unknown = sorted(set(options) - set(job.metrics))
    if unknown:
        raise InputError(f"options given for {unknown}, which are not metrics of the job ({list(job.metrics)})")
    source = job.source
    if isinstance(source, FolderSource):
        source = FolderSource(
            source.root.resolve(),
            source.ref_root.resolve() if source.ref_root is not None else None,
            recursive=source.recursive,
            ref_pattern=source.ref_pattern,
        )
    return JobRecipe(
        source=source,
        metrics={col: (type(m).spec.name, dict(options.get(col, {}))) for col, m in job.metrics.items()},
        settings=job.settings.replace(progress=None),
        ref_pattern=job.ref_pattern,
        shard=job.shard,
        alpha=job.alpha,
        mixed=job.mixed,
        prompts=job.table,
        meta=job.meta(),
    )


def _encode_chunk(chunk: list[Pair]) -> str:
    return json.dumps([[it.file, it.ref, it.error] for it in chunk])


def _decode_chunk(payload: str) -> list[Pair]:
    return [Pair(f, r, e) for f, r, e in json.loads(payload)]


class ChunkScorer:
    """A Ray Data actor: builds the job's metrics once, then scores one chunk per row of its batches."""

    def __init__(self, recipe: JobRecipe):
        self.job = recipe.build()
        self.pool = ThreadPoolExecutor(max_workers=max(1, recipe.settings.workers))
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        rows = [json.dumps(score_chunk(self.job, _decode_chunk(str(p)), self.pool)) for p in batch["items"]]
        return {"chunk": batch["chunk"], "rows": rows, "worker": [self.worker] * len(rows)}


@dataclass(frozen=True)
class ChunkDone:
    """One chunk's result as the driver receives it (what ``on_chunk`` is given)."""

    index: int  # the chunk's position in the job's plan
    rows: list[Row]
    worker: str  # host:pid of the actor that scored it


@dataclass
class RayOptions:
    """Where and how wide a job runs on Ray.

    Attributes:
        address: the cluster to connect to (``ray://host:10001``, ``auto``); None starts a local
            one with this machine's CPUs (unless Ray is already initialised in this process).
        workers: actors in the pool (each holds one copy of the metrics).
        cpus_per_worker: CPUs reserved per actor.
        gpus_per_worker: GPUs per actor (a fraction shares one GPU between actors).
        max_chunk_retries: how often a chunk whose actor died is retried before the run fails.
    """

    address: str | None = None
    workers: int = 2
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    max_chunk_retries: int = MAX_CHUNK_RETRIES
    env: dict[str, str] = field(default_factory=dict)  # extra environment of the workers

    def __post_init__(self) -> None:
        if not isinstance(self.workers, int) or self.workers < 1:
            raise InputError(f"workers must be a positive int (actors in the Ray pool), got {self.workers!r}")
        if self.gpus_per_worker < 0 or self.cpus_per_worker <= 0:
            raise InputError(
                f"gpus_per_worker must be >= 0 and cpus_per_worker > 0, got {self.gpus_per_worker!r} and "
                f"{self.cpus_per_worker!r}"
            )

    def runtime_env(self) -> dict[str, Any]:
        env = worker_env()
        env.update(self.env)
        return {"env_vars": env} if env else {}


def worker_env() -> dict[str, str]:
    """This process's weights, cache and limit settings (:data:`FORWARDED_ENV`), for the workers'
    ``runtime_env={"env_vars": ...}`` (a remote node does not inherit them).
    """
    return {k: os.environ[k] for k in FORWARDED_ENV if os.environ.get(k)}


@contextlib.contextmanager
def ray_session(ray: ModuleType, address: str | None) -> Iterator[None]:
    """Ray initialised for the block: an existing session is used as is; one started here is shut down."""
    if ray.is_initialized():
        yield
        return
    import logging

    try:
        ray.init(address=address, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=True)
    except (ConnectionError, RuntimeError, ValueError) as e:
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        raise InputError(f"could not start or reach {where}: {e}") from None
    try:
        yield
    finally:
        ray.shutdown()


def map_on_pool(ds: Any, actor: type, kwargs: dict[str, Any], opts: RayOptions) -> Any:
    """``ds.map_batches(actor)`` on an actor pool, one row per task, with the engine's fault settings:
    a killed actor is restarted (its metrics or extractor rebuilt) and its task retried, at most
    ``opts.max_chunk_retries`` times (a task that kills its actor every time fails the run).
    """
    from ray.data import ActorPoolStrategy

    with warnings.catch_warnings():
        # Ray 2.60 deprecates these keywords (its defaults, -1 and -1, already restart and retry
        # forever); they are set to bound the retries of a chunk that kills its actor every time.
        warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
        return ds.map_batches(
            actor,
            fn_constructor_kwargs=kwargs,
            batch_size=1,
            batch_format="numpy",
            compute=ActorPoolStrategy(size=opts.workers),
            num_cpus=opts.cpus_per_worker,
            num_gpus=opts.gpus_per_worker or None,
            runtime_env=opts.runtime_env() or None,
            max_restarts=-1,
            max_task_retries=opts.max_chunk_retries,
        )


def stream_chunks(
    ray: ModuleType, recipe: JobRecipe, todo: list[tuple[int, list[Pair]]], opts: RayOptions
) -> Iterator[ChunkDone]:
    """Score ``todo`` (chunk index, pairs) on an actor pool; yield each chunk as it arrives (any order)."""
    if not todo:
        return
    from ray.data import DataContext

    ctx = DataContext.get_current()
    bars, ctx.enable_progress_bars = ctx.enable_progress_bars, False  # progress is the job's own
    try:
        ds = ray.data.from_items(
            [{"chunk": i, "items": _encode_chunk(c)} for i, c in todo], override_num_blocks=len(todo)
        )
        scored = map_on_pool(ds, ChunkScorer, {"recipe": recipe}, opts)
        for r in scored.iter_rows():
            yield ChunkDone(int(r["chunk"]), json.loads(str(r["rows"])), str(r["worker"]))
    finally:
        ctx.enable_progress_bars = bars


def score_on_ray(
    job: ScoreJob,
    output: str | Path | None = None,
    *,
    resume: bool = False,
    overwrite: bool = False,
    options: dict[str, dict[str, Any]] | None = None,
    ray_options: RayOptions | None = None,
    on_chunk: Callable[[ChunkDone], None] | None = None,
    label: str = "scoring",
) -> list[Row]:
    """Run ``job`` on Ray and return its rows as :func:`~iqa.api.jobs.score_job` does (same values, order, files).

    Args:
        job: what to score and how (its metrics are used on the driver for the columns and checks;
            each actor builds its own from their registry names and ``options``).
        output: the table to write (.csv, .json, .parquet), journaled as chunks arrive; or None.
        resume: continue ``output`` where it stopped (chunks already done are not sent again).
        overwrite: replace an existing ``output``.
        options: each column's metric options, as the metrics were built (``{"ssim": {"downsample": False}}``).
        ray_options: cluster address and pool size (:class:`RayOptions`; default a local pool of 2).
        on_chunk: called on the driver with each :class:`ChunkDone` (monitoring), after it is journaled.
        label: the progress label (progress goes to ``job.settings.progress``).

    Raises:
        MissingDependencyError: Ray Data is not installed (before any work).
        OutputExistsError, InputError: as :func:`~iqa.api.jobs.score_job`; a worker's metrics that
            differ from the driver's; a cluster that cannot be reached.
        IQAError: the run failed on the cluster (what is done stays in the journal for ``resume``).
    """
    ray = require_ray()
    opts = ray_options or RayOptions()
    if output is None and (resume or job.shard != (1, 1)):
        raise InputError("resuming and sharding need an output file (-o out.csv)")
    problems = writable_problems(Path(output)) if output else []
    if problems:
        raise InputError("; ".join(problems))
    recipe = job_recipe(job, options)
    items = plan_items(job)
    warn_unused_prompts(job.table, job.source.label, items, sharded=job.shard != (1, 1))
    store = ResultStore(Path(output), job.columns, job.meta(), resume=resume, overwrite=overwrite) if output else None
    try:
        rows = _drive(ray, job, recipe, items, store, opts, on_chunk, label)
    except BaseException:
        if store is not None:
            store.close()  # the journal stays for a resume
        raise
    if store is not None:
        keys = {it.file for it in items}
        rows = [r for r in store.finalize() if r["file"] in keys]
    warn_truncated(job.table, rows)
    return rows


def _drive(
    ray: ModuleType,
    job: ScoreJob,
    recipe: JobRecipe,
    items: list[Pair],
    store: ResultStore | None,
    opts: RayOptions,
    on_chunk: Callable[[ChunkDone], None] | None,
    label: str,
) -> list[Row]:
    """Send the chunks not done yet to the pool and journal their rows as they arrive (each file once)."""
    done = done_with_same_prompt(job.table, store) if store else set()
    chunks, heads = plan_job_chunks(job, items)
    todo = [(i, c) for i, c in enumerate(chunks) if any(it.file not in done for it in c)]
    warn_mixed(job, [it for _, c in todo for it in c if it.file not in done], heads)
    finished = len(items) - sum(len(c) for _, c in todo)
    progress = job.settings.progress
    if progress is not None:
        progress(label, finished, len(items))
    seen = set(done)
    rows: list[Row] = []
    with ray_session(ray, opts.address):
        try:
            for result in stream_chunks(ray, recipe, todo, opts):
                fresh = [r for r in result.rows if r["file"] not in seen]
                seen.update(r["file"] for r in fresh)
                if store is not None:
                    store.append(fresh)
                else:
                    rows.extend(fresh)
                finished += len(result.rows)
                if progress is not None:
                    progress(label, min(finished, len(items)), len(items))
                if on_chunk is not None:
                    on_chunk(result)
        except IQAError:
            raise
        except ray.exceptions.RayError as e:
            raise IQAError(
                f"the Ray run failed: {e}\nThe chunks already scored are kept; rerun with --resume to continue."
            ) from e
    order = {it.file: i for i, it in enumerate(items)}
    return sorted(rows, key=lambda r: order[r["file"]])
