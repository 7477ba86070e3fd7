"""``iqa weights list|fetch|import|verify|export|convert``."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from iqa.registry import Registry
    from iqa.weights.converters import Converter, ConverterArg


@click.group()
def weights() -> None:
    """Manage pretrained weights (manifest, cache, downloads, offline export)."""


def _store() -> ModuleType:
    """:mod:`iqa.weights.store`, looked up at each call (tests replace its manifest functions)."""
    from iqa.weights import store

    return store


def _rows() -> list[dict[str, Any]]:
    rows = []
    for spec in _store().load_manifest().values():
        st = _store().local_status(spec)
        rows.append(
            {
                "id": spec.id,
                "status": st.status,
                "where": st.where,
                "path": st.path,
                "sha256": spec.describe_hash(),
                "found_sha256": st.digest,
                "license": spec.license,
                "urls": list(spec.urls),
            }
        )
    return rows


@weights.command("list")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "plain", "json", "csv"]),
    help="table (default on a terminal), plain (default in a pipe), json or csv.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def list_weights(fmt: str | None, as_json: bool) -> None:
    """Every manifest entry with its local status: ok (and where), BAD HASH (and the file) or missing."""
    from iqa.cli.registry_cmds import emit_rows, output_format

    rows = _rows()
    fmt = output_format(fmt, as_json)
    if fmt == "table":
        rows = [{**r, "sha256": r["sha256"][:16]} for r in rows]
    emit_rows(rows, ["id", "status", "where", "license", "sha256", "path"], fmt)


def _metric_weights(metric: str) -> list[str]:
    """The weights ids of a registered metric's spec, read from the static index (no torch import)."""
    from iqa.cli import metric_index

    return list(metric_index.entry(metric_index.load(), metric)["spec"]["weights"])


def _fetch_one(weight_id: str, force: bool) -> tuple[str, bool]:
    """(message, ok) for one id: already present, downloaded, or why not."""
    from iqa.errors import DownloadError, IQAError

    store = _store()
    spec = store.get_weight_spec(weight_id)
    st = store.local_status(spec)
    if st.status == "ok" and not force:
        return f"{spec.id}: present ({st.where}) {st.path}", True
    if store.offline():
        return f"{spec.id}: not downloaded, IQA_OFFLINE is set", False
    try:
        dest = store.fetch(spec.id, force=force or st.status != "ok")
    except (DownloadError, IQAError) as e:
        return f"{spec.id}: FAILED: {e}", False
    if st.status == "BAD HASH" and st.where == "IQA_WEIGHTS_DIR":  # found before the cache: still in the way
        return (
            f"{spec.id}: downloaded -> {dest}, but delete the bad copy that IQA_WEIGHTS_DIR finds first: {st.path}",
            False,
        )
    return f"{spec.id}: downloaded -> {dest}", True


@weights.command()
@click.argument("ids", nargs=-1)
@click.option("--all", "fetch_all", is_flag=True, help="Every manifest entry (the CLIP towers alone are several GB).")
@click.option(
    "--for", "for_metrics", multiple=True, metavar="METRIC", help="The weights metric METRIC needs; repeatable."
)
@click.option("--force", is_flag=True, help="Download even if a verified copy is present.")
def fetch(ids: tuple[str, ...], fetch_all: bool, for_metrics: tuple[str, ...], force: bool) -> None:
    """Download weights IDS (or --all, or --for METRIC) into the user cache, verified; exit 1 if any failed.

    Present files are not downloaded again; a failed id does not stop the others.
    """
    wanted = _wanted(ids, fetch_all, for_metrics)
    failed = 0
    for wid in wanted:
        msg, ok = _fetch_one(wid, force)
        click.echo(msg, err=not ok)
        failed += not ok
    if failed:
        click.echo(f"{failed} of {len(wanted)} not fetched; `iqa weights list` shows where each file goes", err=True)
        raise SystemExit(1)


def _wanted(ids: tuple[str, ...], all_ids: bool, for_metrics: tuple[str, ...]) -> list[str]:
    """The ids named, those of --for metrics, or all; in manifest order, each once."""
    from iqa.errors import InputError

    manifest = _store().load_manifest()
    if all_ids:
        return list(manifest)
    wanted = [*ids, *(w for m in for_metrics for w in _metric_weights(m))]
    if not wanted:
        if for_metrics:
            click.echo(f"{', '.join(for_metrics)}: no pretrained weights needed")
            return []
        raise InputError("name weights ids, --for METRIC or --all (see `iqa weights list`)")
    for wid in wanted:
        _store().get_weight_spec(wid)  # unknown ids fail before any download
    return list(dict.fromkeys(wanted))


@weights.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--id", "weight_id", help="Expected id (default: found by hash).")
def import_cmd(files: tuple[Path, ...], weight_id: str | None) -> None:
    """Install downloaded FILES into the cache, matched to the manifest by sha256."""
    for f in files:
        wid, dest = _store().import_file(f, weight_id)
        click.echo(f"{f} -> {wid} ({dest})")


@weights.command()
def verify() -> None:
    """Check the hash of every local weights file; exit 1 if any is corrupt."""
    store = _store()
    rows = _rows()
    found = [r for r in rows if r["status"] != "missing"]
    for r in found:
        click.echo(f"{r['id']:<26} {r['status']:<8} {r['where']:<16} {r['path']}")
    bad = sum(r["status"] == "BAD HASH" for r in rows)
    packaged = sum(r["where"] == "packaged" for r in found)
    click.echo(f"{len(found) - bad} ok ({packaged} packaged with a dependency), {bad} with a wrong hash, "
               f"{len(rows) - len(found)} of {len(rows)} not installed")  # fmt: skip
    if len(found) == packaged:
        places = [f"IQA_WEIGHTS_DIR ({d})" for d in store.weights_dirs()] + [f"the cache ({store.cache_dir()})"]
        click.echo(f"no weights downloaded or imported: nothing in {' or '.join(places)} to verify "
                   "(`iqa weights fetch --for METRIC`, `iqa weights fetch --all` or `iqa weights import FILE`)")  # fmt: skip
    if bad:
        click.echo("delete each BAD HASH file above and fetch it again (`iqa weights fetch ID`)", err=True)
        raise SystemExit(1)


@weights.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("ids", nargs=-1)
@click.option(
    "--for", "for_metrics", multiple=True, metavar="METRIC", help="The weights metric METRIC needs; repeatable."
)
@click.option(
    "--fetch", "fetch_missing", is_flag=True, help="Download what is missing first (else it is listed as missing)."
)
def export(out_dir: Path, ids: tuple[str, ...], for_metrics: tuple[str, ...], fetch_missing: bool) -> None:
    """Copy verified weights into OUT_DIR for an offline machine; there, set IQA_WEIGHTS_DIR=OUT_DIR.

    Default: every file found in IQA_WEIGHTS_DIR or the cache (files packaged with a dependency come
    with that dependency and are copied only when named). OUT_DIR also gets README.txt, SHA256SUMS
    and manifest.json listing what it holds. Exit 1 if a named file is missing or corrupt.
    """
    from iqa.weights.export import export_weights

    store = _store()
    manifest = list(store.load_manifest().values())
    if ids or for_metrics:
        wanted = _wanted(ids, False, for_metrics)
    else:
        wanted = [s.id for s in manifest if store.local_status(s).where in ("IQA_WEIGHTS_DIR", "cache")]
    if fetch_missing:
        for wid in wanted:
            msg, ok = _fetch_one(wid, False)
            if not ok:
                click.echo(msg, err=True)
    res = export_weights(out_dir, [store.get_weight_spec(w) for w in wanted], manifest)
    for wid in res.copied:
        click.echo(f"{wid}: copied")
    for wid in res.already:
        click.echo(f"{wid}: already there")
    for wid in res.missing:
        click.echo(f"{wid}: MISSING on this machine (`iqa weights fetch {wid}`, or --fetch)", err=True)
    for wid, path in res.bad.items():
        click.echo(f"{wid}: BAD HASH, not copied: {path}", err=True)
    total = sum(r["size"] for r in res.contents)
    click.echo(f"{out_dir} holds {len(res.contents)} weights files ({total / 1e6:.1f} MB); see its README.txt. "
               f"On the offline machine: IQA_WEIGHTS_DIR={out_dir.resolve()}")  # fmt: skip
    if res.missing or res.bad:
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
