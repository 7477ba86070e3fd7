"""``iqa weights list|fetch|import|verify``."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def weights() -> None:
    """Manage pretrained weights (manifest, cache, downloads)."""


def _status(spec) -> tuple[str, str]:  # noqa: ANN001
    from iqa.errors import WeightsHashError
    from iqa.weights import locate

    try:
        p = locate(spec)
    except WeightsHashError:
        return "BAD HASH", ""
    return ("ok", str(p)) if p else ("missing", "")


@weights.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_weights(as_json: bool) -> None:
    """Every manifest entry with its local status."""
    from iqa.weights import load_manifest

    rows = []
    for spec in load_manifest().values():
        status, path = _status(spec)
        rows.append(
            {
                "id": spec.id,
                "status": status,
                "path": path,
                "sha256": spec.expected_hash,
                "license": spec.license,
                "urls": list(spec.urls),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("id", "status", "license", "sha256", "path")
    for r in rows:
        t.add_row(r["id"], r["status"], r["license"], r["sha256"][:16], r["path"])
    Console().print(t)


@weights.command()
@click.argument("ids", nargs=-1, required=True)
@click.option("--force", is_flag=True, help="Download even if a verified copy is cached.")
def fetch(ids: tuple[str, ...], force: bool) -> None:
    """Download weights IDS into the user cache (verified)."""
    from iqa.weights import fetch as do_fetch

    for i in ids:
        click.echo(f"{i}: {do_fetch(i, force=force)}")


@weights.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "weight_id", help="Expected id (default: found by hash).")
def import_cmd(files: tuple[Path, ...], weight_id: str | None) -> None:
    """Install downloaded FILES into the cache, matched to the manifest by sha256."""
    from iqa.weights import import_file

    for f in files:
        wid, dest = import_file(f, weight_id)
        click.echo(f"{f} -> {wid} ({dest})")


@weights.command()
def verify() -> None:
    """Check the hash of every local weights file; exit 1 if any is corrupt."""
    from iqa.weights import load_manifest

    bad = 0
    for spec in load_manifest().values():
        status, path = _status(spec)
        if status != "missing":
            click.echo(f"{spec.id:<24} {status:<8} {path}")
        bad += status == "BAD HASH"
    if bad:
        raise SystemExit(1)


@weights.command()
@click.argument("model", type=click.Choice(["tanet", "contrique"]))
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--variant",
    type=click.Choice(["tad66k", "ava"]),
    default="tad66k",
    show_default=True,
    help="tanet only. tad66k: SRCC_513_LCC_531_MSE_016.pth; ava: SRCC_758_LCC_765.pth.",
)
@click.option(
    "--regressors",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="contrique only: the release's models/ folder (Koniq.save, CLIVE.save, LIVE.save, CSIQ.save, *_FR.save).",
)
@click.option(
    "--out-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: the user cache's converted/ folder."
)
def convert(model: str, file: Path | None, variant: str, regressors: Path | None, out_dir: Path | None) -> None:
    """Convert a released checkpoint FILE (read without unpickling code) into verified safetensors.

    tanet: FILE is the released .pth. contrique: FILE is CONTRIQUE_checkpoint25.tar and/or
    --regressors the models/ folder; the sklearn pickles are decoded by a reader that refuses any code.
    """
    from iqa.errors import InputError

    if model == "tanet":
        from iqa.metrics.nr.tunet import convert_tanet

        if file is None:
            raise InputError("iqa weights convert tanet needs FILE (the released .pth)")
        path = convert_tanet(file, variant, out_dir=out_dir)
        click.echo(
            f"{file} -> {path} (record: {path.with_suffix('.json').name}); use it with iqa.create('tunet', variant='{variant}')"
        )
        return
    from iqa.metrics.nr._contrique_convert import convert_contrique

    for path in convert_contrique(file, regressors, out_dir=out_dir):
        click.echo(f"-> {path} (record: {path.with_suffix('.json').name})")
    click.echo(
        "use them with iqa.create('contrique', head='koniq'|'clive'|'live'|'csiq') or iqa.create('contrique_fr', head='live_fr'|'csiq_fr')"
    )
