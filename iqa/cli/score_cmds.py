"""``iqa score`` (folders -> table, resumable, shardable) and ``iqa merge``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from iqa.cli.options import keep_going_option, parse_metric_options, parse_shard, report_skipped, run_options
from iqa.cli.progress import ProgressBars

if TYPE_CHECKING:
    from collections.abc import Callable

    from iqa.api.settings import RunSettings
    from iqa.checks import MixedChannels
    from iqa.io.images import Alpha
    from iqa.io.sources import Source
    from iqa.metrics.base import Metric


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "--ref",
    "ref",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Reference folder (full-reference metrics); files are paired by name.",
)
@click.option(
    "--image-key",
    help="Tar shards: the image member's extension(s), e.g. 'jpg;png' (default: any image extension). "
    "Tables: the image column (default: file, path, image or filepath).",
)
@click.option(
    "--ref-key",
    help="Tar shards: the reference member's extension, e.g. 'ref.png'. Tables: the reference column.",
)
@click.option("--key-column", help="Tables: the column of item names (default: the image path, else key/id).")
@click.option("-m", "--metric", "metrics", multiple=True, required=True, help="Metric name; repeat for several.")
@click.option(
    "--prompts",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Prompts CSV for text-image metrics (clipscore): a header row file,prompt, then one row per image "
    "(file relative to FOLDER, e.g. a.png or sub/b.png; RFC 4180 quoting, UTF-8).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Output .csv, .json or .parquet (default: CSV on stdout).",
)
@click.option(
    "--opt",
    "opts",
    multiple=True,
    help="Metric option METRIC.KEY=VALUE (or KEY=VALUE for all), e.g. ssim.downsample=false.",
)
@run_options(batch_size=8)
@click.option("--resume", is_flag=True, help="Continue an interrupted run into the same output.")
@click.option("--overwrite", is_flag=True, help="Replace an existing output.")
@click.option("--shard", help="Score only part K of N (e.g. 2/4); join outputs with `iqa merge`.")
@click.option("--recursive", is_flag=True, help="Include subfolders.")
@click.option(
    "--ref-pattern", help="Regex mapping a file's stem to its reference stem, e.g. '(?P<ref>I\\d+)_\\d+_\\d+'."
)
@click.option("--max-pixels", type=int, help="Decompression-bomb limit in pixels (default 89,478,485).")
@click.option(
    "--max-batch-pixels",
    type=int,
    help="Most pixels (width x height summed over a batch) per batch; a larger image runs alone "
    "(default 16,777,216 = 2**24; 0: no pixel bound, --batch-size only).",
)
@click.option(
    "--mixed",
    type=click.Choice(["refuse", "gray", "rgb"]),
    default="refuse",
    show_default=True,
    help="A grey image paired with a colour one: refuse (error in its row), compare both as grey, "
    "or score the grey one as RGB (both warn).",
)
@click.option(
    "--alpha",
    type=click.Choice(["drop", "white", "black"]),
    default="drop",
    show_default=True,
    help="How transparent images are flattened.",
)
@keep_going_option
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process; ray: a Ray cluster (pip install 'iqa[ray]'), the same values and table.",
)
@click.option("--address", help="--engine ray: the cluster to connect to (default: start a local one).")
@click.option("--ray-workers", type=int, default=2, show_default=True, help="--engine ray: actors (metric copies).")
@click.option("--gpus-per-worker", type=float, default=0.0, show_default=True, help="--engine ray: GPUs per actor.")
def score(
    inputs: tuple[str, ...],
    ref: Path | None,
    image_key: str | None,
    ref_key: str | None,
    key_column: str | None,
    metrics: tuple[str, ...],
    prompts: Path | None,
    output: Path | None,
    opts: tuple[str, ...],
    settings: RunSettings,
    resume: bool,
    overwrite: bool,
    shard: str | None,
    recursive: bool,
    ref_pattern: str | None,
    max_pixels: int | None,
    max_batch_pixels: int | None,
    mixed: MixedChannels,
    alpha: Alpha,
    keep_going: bool,
    quiet: bool,
    engine: str,
    address: str | None,
    ray_workers: int,
    gpus_per_worker: float,
) -> None:
    """Score every image of INPUTS with each metric; exit 1 if any file failed or a metric was skipped.

    INPUTS is a folder of images, webdataset tar shards (a.tar b.tar, 'shards/*.tar' or
    'shard-{000..009}.tar'; the reference of a pair is a member of the same sample: --ref-key), or a
    .csv/.parquet table with a column of image paths or (Parquet) bytes (--image-key, --ref-key).

    Every metric is built, its weights found, the prompts file read and the output checked before
    any image is read; all problems are reported at once (see --keep-going). Text-image metrics
    (kind text) score each image against its row of --prompts; an image without a prompt is an
    error in its row, a prompt over the text tower's context is truncated and flagged in the
    'truncated' column (--opt long_prompts=refuse makes it the row's error instead).
    """
    from iqa.api.jobs import ScoreJob, output_problems, prepare_metrics, score_job
    from iqa.api.preflight import prompt_usage_problems, read_prompts_problems
    from iqa.cli.runtime import tune_allocator
    from iqa.errors import InputError
    from iqa.io.sources import open_source

    tune_allocator()
    if engine == "ray":
        from iqa.api.ray_engine import RayOptions, require_ray

        require_ray()  # before any work
        ray_opts = RayOptions(address=address, workers=ray_workers, gpus_per_worker=gpus_per_worker)
    elif address is not None:
        raise InputError("--address is for --engine ray")
    from iqa.api.distributed import torchrun_ranks

    ranks = torchrun_ranks(shard=shard, engine=engine)  # under torchrun: this rank's share (refuses --shard)
    source = open_source(list(inputs), ref, recursive=recursive, ref_pattern=ref_pattern, image_key=image_key,
                         ref_key=ref_key, key_column=key_column)  # fmt: skip
    if len(set(metrics)) != len(metrics):
        raise InputError(f"a metric is repeated in {list(metrics)}")
    if output is None and (resume or shard):
        raise InputError("--resume and --shard need an output file (-o out.csv)")
    per_metric = parse_metric_options(opts, list(metrics))
    fatal = output_problems(output, resume=resume, overwrite=overwrite) + _source_problems(source)
    table, prompt_problems = read_prompts_problems(prompts)
    prompt_problems += prompt_usage_problems(metrics, prompts)
    ready = prepare_metrics(
        metrics,
        per_metric,
        check=_per_image(source.paired, prompts),
        fatal=fatal + prompt_problems,
        keep_going=keep_going,
    )
    report_skipped(ready.skipped)
    built = ready.built
    if not built:
        raise InputError("no metric can run:\n  " + "\n  ".join(ready.skipped.values()))
    with ProgressBars(quiet) as bars:
        run = settings.replace(max_pixels=max_pixels, recursive=recursive, progress=bars)
        if max_batch_pixels is not None:
            run = run.replace(max_batch_pixels=max_batch_pixels or None)
        job = ScoreJob(root=source, metrics=built, settings=run, shard=parse_shard(shard), alpha=alpha, mixed=mixed,
                       prompts=table)  # fmt: skip
        if engine == "ray":
            from iqa.api.ray_engine import score_on_ray

            used = {n: o for n, o in per_metric.items() if n in built}
            rows = score_on_ray(job, output, resume=resume, overwrite=overwrite, options=used, ray_options=ray_opts)
        elif ranks is None:
            rows = score_job(job, output, resume=resume, overwrite=overwrite)
        else:  # torchrun: rank 0 gathers the rows and writes or prints them; the other ranks print nothing
            from iqa.api.distributed import score_job_ranks

            gathered, failed = score_job_ranks(job, output, ranks, resume=resume, overwrite=overwrite)
            if gathered is None:
                sys.exit(1 if failed or ready.skipped else 0)
            rows = gathered
    if output is None:
        write_table_stdout(rows, job.columns)
    _summary(rows, output, quiet)
    report_skipped(ready.skipped, again=True)
    if ready.skipped or any(r["error"] for r in rows):
        sys.exit(1)


def _source_problems(source: Source) -> list[str]:
    """Listing the source (a folder, the shards' member index, a table's keys) before any metric is
    built: an empty folder, a compressed shard or a table without its column is said with the rest.
    The listing is kept by tar and table sources, so the run does not list them again.
    """
    from iqa.errors import InputError

    try:
        source.plan()
    except InputError as e:
        return [str(e)]
    return []


def _per_image(paired: bool, prompts: Path | None = None) -> Callable[[str, Metric], None]:
    """The pre-flight check of `iqa score`: a per-image metric, with references (``paired``) when
    full-reference and --prompts when text-image.
    """

    def check(name: str, m: Metric) -> None:
        from iqa.errors import InputError
        from iqa.metrics.base import FRMetric, NRMetric, TextImageMetric

        if not isinstance(m, (FRMetric, NRMetric, TextImageMetric)):
            raise InputError(f"{name} is a distribution metric; score two folders with `iqa compare`")
        if isinstance(m, FRMetric) and not paired:
            raise InputError(
                f"{name} is a full-reference metric: give the references (--ref DIR for a folder, "
                "--ref-key for tar shards and tables)"
            )
        if isinstance(m, TextImageMetric) and prompts is None:
            raise InputError(
                f"{name} scores images against prompts: give them with --prompts prompts.csv "
                "(a header row file,prompt, then one row per image)"
            )

    return check


def write_table_stdout(rows: list[dict], columns: list[str]) -> None:
    import csv
    import math

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if isinstance(r.get(c), float) and math.isnan(r[c]) else r.get(c) for c in columns])


def _summary(rows: list[dict], output: Path | None, quiet: bool) -> None:
    failed = [r for r in rows if r["error"]]
    where = f" -> {output}" if output else ""
    cut = sum(1 for r in rows if isinstance(r.get("truncated"), str) and r["truncated"])
    if not quiet or failed:
        click.echo(f"scored {len(rows) - len(failed)} of {len(rows)} files{where}; {len(failed)} failed", err=True)
    if cut:
        click.echo(f"{cut} prompt(s) truncated to the text tower's context (see the truncated column)", err=True)
    for r in failed[:20]:
        click.echo(f"  {r['file']}: {r['error']}", err=True)
    if len(failed) > 20:
        click.echo(f"  ... and {len(failed) - 20} more (see the error column)", err=True)


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Merged table (.csv, .json, .parquet).",
)
@click.option("--allow-partial", is_flag=True, help="Merge even when shards are missing or lack a record (warns).")
def merge(inputs: tuple[Path, ...], output: Path, allow_partial: bool) -> None:
    """Join the outputs of `iqa score --shard K/N` runs into one table, in file order."""
    from iqa.api.results import merge_tables

    rows = merge_tables(list(inputs), output, allow_partial=allow_partial)
    click.echo(f"merged {len(inputs)} tables, {len(rows)} rows -> {output}", err=True)
