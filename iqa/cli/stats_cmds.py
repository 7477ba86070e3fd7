"""``iqa stats``: write, convert and inspect reference statistics in the formats other tools use.

``compute`` summarises a folder's features (any registered extractor) into pytorch-fid, clean-fid,
ADM or torch-fidelity files; ``convert`` rewrites one format as another; ``show`` says what a file
or a published name (``cleanfid:...``, ``adm:...``, ``ttur:...``) holds and how it was made.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from iqa.cli.options import check_device

FORMATS = ("pytorch_fid", "cleanfid", "cleanfid_kid", "adm", "torch_fidelity", "npy")


def _write(fmt: str, out: Path, features=None, stats=None) -> Path:  # noqa: ANN001
    """Write ``stats`` (or ``features``, summarised when ``stats`` is None) to ``out`` in ``fmt``."""
    import numpy as np

    from iqa.atomic import atomic_write
    from iqa.errors import InputError
    from iqa.stats import GaussianStats
    from iqa.stats import formats as F

    if fmt in ("cleanfid_kid", "npy"):
        if features is None:
            raise InputError(f"--format {fmt} holds features; {out} cannot be written from statistics alone")
        if fmt == "npy":
            return atomic_write(out, lambda f: np.save(f, features.numpy()))
        return F.write_cleanfid_kid(features, out)
    if stats is None:
        stats = GaussianStats.from_features(features)
    writers = {
        "pytorch_fid": F.write_pytorch_fid,
        "cleanfid": F.write_cleanfid,
        "torch_fidelity": F.write_torch_fidelity,
    }
    if fmt == "adm":
        return F.write_adm(out, pool=stats)
    return writers[fmt](stats, out)


@click.group()
def stats() -> None:
    """Reference statistics: compute them from a folder, convert between formats, show what a file holds."""


@stats.command()
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--extractor", default="inception_v3_fid", show_default=True, help="Registered feature extractor.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="pytorch_fid", show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option("--workers", default=2, show_default=True, help="Decoding threads.")
@click.option("--recursive", is_flag=True)
@click.option("-q", "--quiet", is_flag=True)
def compute(folder: Path, output: Path, extractor: str, fmt: str, batch_size: int, device: str, workers: int,
            recursive: bool, quiet: bool) -> None:  # fmt: skip
    """Features of every image in FOLDER through EXTRACTOR, written as statistics (or features) in FORMAT."""
    from iqa.api.features import extract_folder
    from iqa.cli.progress import ProgressReporter
    from iqa.features.registry import create_extractor

    ext = create_extractor(extractor).to(check_device(device)).eval()
    bar: ProgressReporter | None = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        bar = bar or ProgressReporter(total, f"features ({extractor})", quiet)
        bar.update(done)

    try:
        feats, failed = extract_folder(folder, ext, batch_size=batch_size, workers=workers, device=device,
                                       recursive=recursive, progress=progress)  # fmt: skip
    finally:
        if bar is not None:
            bar.close()
    path = _write(fmt, output, features=feats)
    click.echo(json.dumps({"output": str(path), "format": fmt, "extractor": ext.cache_key(), "n": len(feats),
                           "dim": ext.dim, "failed": failed}, indent=1))  # fmt: skip


@stats.command()
@click.argument("source")
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option("--role", type=click.Choice(["pool", "spatial"]), default="pool", show_default=True,
              help="Which statistics of an ADM batch to write.")  # fmt: skip
def convert(source: str, output: Path, fmt: str, role: str) -> None:
    """Rewrite SOURCE (a statistics/features file or a published name) as OUTPUT in FORMAT."""
    from iqa.errors import InputError
    from iqa.stats.formats import is_published_name, open_published, read_reference

    ref = open_published(source)[0] if is_published_name(source) else read_reference(source)
    stats = ref.stats.get(role)
    if stats is None and ref.features is None:
        raise InputError(f"{source} holds {ref.describe()}: no {role} statistics or features to convert")
    path = _write(fmt, output, features=ref.features, stats=stats)
    click.echo(f"{source} ({ref.format}) -> {path} ({fmt})")


@stats.command()
@click.argument("source")
def show(source: str) -> None:
    """What SOURCE holds (format, statistics, features, images) and, for a published name, how it was made."""
    import dataclasses

    from iqa.stats.formats import is_published_name, open_published, read_reference
    from iqa.weights.manifest import get_reference_stats

    out: dict[str, object] = {"source": source}
    if is_published_name(source):
        spec = get_reference_stats(source)
        out["published"] = {k: v for k, v in dataclasses.asdict(spec).items() if k != "weight"}
        out["url"], out["license"] = spec.weight.urls[0], spec.weight.license
        ref = open_published(source)[0]
    else:
        ref = read_reference(source)
    out["format"], out["holds"] = ref.format, ref.describe()
    out["counts"] = {role: s.count for role, s in ref.stats.items()}
    click.echo(json.dumps(out, indent=1))
