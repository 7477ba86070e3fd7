"""``iqa compare A B -m fid -m kid -m cmmd``: distribution metrics between two image sets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from iqa.atomic import atomic_write_text
from iqa.cli.options import check_device, keep_going_option, parse_metric_options, report_skipped
from iqa.cli.progress import ProgressReporter


@click.command()
@click.argument("a")  # a path, a shard pattern or a published name: iqa.compare says what is missing
@click.argument("b")
@click.option(
    "-m",
    "--metric",
    "metrics",
    multiple=True,
    default=("fid",),
    show_default=True,
    help="Distribution metric; repeat for several.",
)
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the result as .json or .csv."
)
@click.option("--opt", "opts", multiple=True, help="Metric option METRIC.KEY=VALUE, e.g. kid.subset_size=500.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--workers", default=2, show_default=True, help="Decoding threads.")
@click.option(
    "--cache-dir", type=click.Path(file_okay=False, path_type=Path), help="Feature cache (default: the user cache dir)."
)
@click.option("--no-cache", is_flag=True, help="Do not read or write cached features.")
@click.option("--recursive", is_flag=True)
@click.option("--max-pixels", type=int)
@keep_going_option
@click.option("--cite", is_flag=True, help="Also print how to report the result (versions, features, weights, sets).")
@click.option("-q", "--quiet", is_flag=True)
@click.option(
    "--engine",
    type=click.Choice(["local", "ray"]),
    default="local",
    show_default=True,
    help="local: this process; ray: features extracted on a Ray cluster (pip install 'iqa[ray]'), same values.",
)
@click.option("--address", help="--engine ray: the cluster to connect to (default: start a local one).")
@click.option("--ray-workers", type=int, default=2, show_default=True, help="--engine ray: actors (extractor copies).")
@click.option("--gpus-per-worker", type=float, default=0.0, show_default=True, help="--engine ray: GPUs per actor.")
def compare(
    a: str,
    b: str,
    metrics: tuple[str, ...],
    output: Path | None,
    opts: tuple[str, ...],
    batch_size: int,
    device: str,
    workers: int,
    cache_dir: Path | None,
    no_cache: bool,
    recursive: bool,
    max_pixels: int | None,
    keep_going: bool,
    cite: bool,
    quiet: bool,
    engine: str,
    address: str | None,
    ray_workers: int,
    gpus_per_worker: float,
) -> None:
    """Compare image sets A (the reference, "real") and B (the generated set).

    A side is a folder of images, webdataset tar shards (a quoted 'shards/*.tar' or
    'shard-{000..009}.tar'), a .csv/.parquet table of image paths or bytes, a statistics/features file (pytorch-fid or clean-fid .npz, ADM
    reference batch .npz, torch-fidelity cache .pt, .npy features) or published statistics by name
    (cleanfid:cifar10_clean_train_32, adm:imagenet256, ttur:cifar10_train; `iqa weights list`).
    Statistics and feature files need no extractor weights. Every metric is checked before any image
    is read. The result records its provenance (extractor, weights sha256, estimator, counts,
    versions); --cite prints it as text. Exit 1 (after writing the result) if a file could not be
    read or a metric was skipped.
    """
    import iqa
    from iqa.api.settings import RunSettings
    from iqa.cli.runtime import tune_allocator

    tune_allocator()
    if engine == "ray":
        from iqa.api.ray_engine import require_ray

        require_ray()  # before any work
    elif address is not None:
        raise click.UsageError("--address is for --engine ray")
    from iqa.api.distributed import torchrun_ranks

    ranks = torchrun_ranks(engine=engine)  # under torchrun: each rank extracts a share of the features, rank 0 reports
    if cache_dir is None and not no_cache:
        from iqa.weights import cache_dir as weights_cache

        cache_dir = weights_cache().parent
    bars: dict[str, ProgressReporter] = {}

    def progress(side: str, done: int, total: int) -> None:
        bar = bars.setdefault(side, ProgressReporter(total, f"features {side}", quiet))
        bar.update(done)

    settings = RunSettings(
        device=check_device(device),
        batch_size=batch_size,
        workers=workers,
        cache_dir=None if no_cache else cache_dir,
        recursive=recursive,
        max_pixels=max_pixels,
        progress=progress,
    )
    from functools import partial

    from iqa.api.comparison import compare_ranks

    run_compare = iqa.compare if ranks is None else partial(compare_ranks, ranks=ranks)
    if engine == "ray":
        from iqa.api.ray_compare import compare_on_ray
        from iqa.api.ray_engine import RayOptions

        ray_opts = RayOptions(address=address, workers=ray_workers, gpus_per_worker=gpus_per_worker)
        run_compare = partial(compare_on_ray, ray_options=ray_opts)
    try:
        result = run_compare(
            a,
            b,
            list(metrics),
            options=parse_metric_options(opts, list(metrics)),
            settings=settings,
            keep_going=keep_going,
        )
    finally:
        for bar in bars.values():
            bar.close()
    if result is None:  # a torchrun rank other than 0: rank 0 writes and prints the result
        return
    text = json.dumps(result, indent=1)
    if output is not None:
        if output.suffix.lower() == ".csv":
            import csv
            import io

            row, buf = _csv_row(result), io.StringIO()
            writer = csv.writer(buf, lineterminator="\n")
            writer.writerows([list(row), list(row.values())])
            atomic_write_text(output, buf.getvalue())
        else:
            atomic_write_text(output, text + "\n")
    click.echo(text)
    if cite:
        from iqa.api.provenance import citation

        click.echo("\n" + citation(result))
    for f in result["failed"]:
        click.echo(f"skipped: {f}", err=True)
    skipped = result.get("skipped", {})
    report_skipped(skipped)
    if result["failed"] or skipped:
        sys.exit(1)


def _csv_row(result: dict) -> dict[str, object]:
    """One CSV row: the values, then the provenance that fits a column (extractor, weights hash, version)."""
    row = {k: v for k, v in result.items() if k not in ("failed", "skipped", "provenance")}
    prov = result.get("provenance", {})
    for name, rec in prov.get("metrics", {}).items():
        row[f"{name}_extractor"] = rec["extractor"]
        row[f"{name}_weights_sha256"] = " ".join(w.get("sha256", "") for w in rec["weights"])
        row[f"{name}_estimator"] = rec["estimator"]
    for side in ("a", "b"):
        row[f"{side}_source"] = prov.get("sides", {}).get(side, {}).get("source", "")
    row["iqa_version"] = prov.get("environment", {}).get("iqa", "")
    return row
