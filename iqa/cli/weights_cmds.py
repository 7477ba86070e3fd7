"""``iqa weights list|fetch|import|verify|convert``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from iqa.registry import Registry
    from iqa.weights import WeightSpec
    from iqa.weights.converters import Converter, ConverterArg


@click.group()
def weights() -> None:
    """Manage pretrained weights (manifest, cache, downloads)."""


def _status(spec: WeightSpec) -> tuple[str, str]:
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

    rows: list[dict[str, Any]] = []
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


class _ConverterGroup(click.Group):
    """One subcommand per registered converter (:data:`iqa.weights.converters.CONVERTERS`), built on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return _converters().names()

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        from iqa.errors import InputError

        try:
            return _converter_command(_converters().get(cmd_name))
        except InputError as e:
            ctx.fail(str(e))


def _converters() -> Registry[Converter]:
    import iqa.models
    from iqa.weights.converters import CONVERTERS

    iqa.models.import_all()  # converters register next to their networks
    return CONVERTERS


def _param(arg: ConverterArg) -> click.Parameter:
    kind: click.ParamType
    if arg.kind == "choice":
        kind = click.Choice(list(arg.choices))
    else:
        kind = click.Path(exists=True, dir_okay=arg.kind == "dir", file_okay=arg.kind == "file", path_type=Path)
    # click >= 8.3 takes an explicit default=None as a given value: pass a default only when there is one.
    default: dict[str, Any] = {} if arg.default is None else {"default": arg.default}
    if arg.positional:
        return click.Argument([arg.name], type=kind, required=arg.required, metavar=arg.metavar or arg.name.upper(),
                              **default)  # fmt: skip
    return click.Option([f"--{arg.name.replace('_', '-')}", arg.name], type=kind, required=arg.required,
                        show_default=bool(default), help=arg.help, **default)  # fmt: skip


def _converter_command(conv: Converter) -> click.Command:
    def run(out_dir: Path | None, **inputs: object) -> None:
        for path in conv.run(inputs, out_dir=out_dir):
            click.echo(f"-> {path} (record: {path.with_suffix('.json').name})")
        if conv.usage:
            click.echo(conv.usage.format(**inputs))

    out_dir = click.Option(["--out-dir", "out_dir"], type=click.Path(file_okay=False, path_type=Path),
                           help="Default: the user cache's converted/ folder.")  # fmt: skip
    args = "\n\n".join(f"{a.metavar or a.name.upper()}: {a.help}" for a in conv.args if a.positional)
    return click.Command(conv.name, callback=run, params=[*map(_param, conv.args), out_dir],
                         help=conv.help + (f"\n\n{args}" if args else ""), short_help=conv.help.split(". ")[0])  # fmt: skip


@weights.group(cls=_ConverterGroup)
def convert() -> None:
    """Convert a released checkpoint (read without unpickling code) into verified safetensors.

    One subcommand per converter, e.g. ``iqa weights convert tanet FILE --variant ava`` or
    ``iqa weights convert contrique CHECKPOINT --regressors models/``.
    """
