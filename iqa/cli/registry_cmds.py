"""``iqa list`` and ``iqa info``: the registry from its static index (no torch import), as text, JSON or CSV.

Output format: a table on a terminal; plain aligned text, never truncated, when stdout is a pipe
or a file; ``--format json|csv`` for programs.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import click

FORMATS = ("table", "plain", "json", "csv")


def output_format(fmt: str | None, as_json: bool = False) -> str:
    """``--format`` if given (``--json`` is kept as a shorthand), else a table on a terminal, plain text in a pipe."""
    if fmt:
        return fmt
    if as_json:
        return "json"
    return "table" if sys.stdout.isatty() else "plain"


def emit_rows(rows: list[dict[str, Any]], columns: list[str], fmt: str) -> None:
    """Print ``rows`` (dicts with ``columns``) as a table, plain aligned text, JSON or CSV; nothing is cut."""
    if fmt == "json":
        click.echo(json.dumps(rows, indent=1))
    elif fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        click.echo(buf.getvalue(), nl=False)
    elif fmt == "plain":
        cells = [columns] + [[str(r[c]) for c in columns] for r in rows]
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns) - 1)]
        for line in cells:  # the last column is not padded, so lines carry no trailing blanks
            click.echo("  ".join([v.ljust(w) for v, w in zip(line, widths)] + [line[-1]]).rstrip())
    else:
        from rich.console import Console
        from rich.table import Table

        t = Table(*columns)
        for col in t.columns:
            col.overflow = "fold"  # a narrow terminal wraps cells instead of cutting them with an ellipsis
        t.columns[0].no_wrap = True  # names stay whole, the other columns give way
        t.columns[0].min_width = max([len(columns[0]), *(len(str(r[columns[0]])) for r in rows)])
        for r in rows:
            t.add_row(*(str(r[c]) for c in columns))
        Console().print(t)


def _range(value_range: list[float | str]) -> str:
    f = lambda v: v if isinstance(v, str) else f"{v:g}"  # noqa: E731 - infinities are already "inf"/"-inf"
    return f"[{f(value_range[0])}, {f(value_range[1])}]"


def _row(spec: dict[str, Any]) -> dict[str, str]:
    return {
        "name": spec["name"],
        "kind": spec["kind"],
        "better": "higher" if spec["higher_is_better"] else "lower",
        "range": _range(spec["value_range"]),
        "grad": "yes" if spec["differentiable"] else "no",
        "colour": spec["color"],
        "summary": spec["summary"],
    }


@click.command("list")
@click.option("--kind", type=click.Choice(["fr", "nr", "text", "dist"]), help="Only this kind of metric.")
@click.option("--pattern", help="fnmatch pattern on the name, e.g. 'ssim*'.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="table (default on a terminal), plain (default in a pipe), json (full specs) or csv.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def list_cmd(kind: str | None, pattern: str | None, fmt: str | None, as_json: bool) -> None:
    """List registered metrics."""
    from iqa.cli import metric_index

    index = metric_index.load()
    specs = [index[n]["spec"] for n in metric_index.names(index, kind=kind, pattern=pattern)]
    fmt = output_format(fmt, as_json)
    if fmt == "json":
        click.echo(json.dumps(specs, indent=1))
        return
    emit_rows([_row(s) for s in specs], ["name", "kind", "better", "range", "grad", "colour", "summary"], fmt)


@click.command()
@click.argument("name")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "csv"]),
    default=None,
    help="text (default), json (spec and options) or csv (one row per option).",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
def info(name: str, fmt: str | None, as_json: bool) -> None:
    """Show the full spec and the declared options (types, defaults, allowed values, docs) of metric NAME."""
    from iqa.cli import metric_index

    e = metric_index.entry(metric_index.load(), name)
    spec, options = e["spec"], e["options"]
    fmt = fmt or ("json" if as_json else "text")
    if fmt == "json":
        click.echo(json.dumps({**spec, "options": options}, indent=1))
        return
    if fmt == "csv":
        emit_rows(options, ["name", "type", "default", "allowed", "doc"], "csv")
        return
    for k, v in spec.items():
        if k == "value_range":
            v = _range(v)
        click.echo(f"{k:>26}: {v}")
    if e["doc"]:
        click.echo(f"{'doc':>26}: {e['doc']}")
    click.echo("options:")
    for o in options:
        allowed = f"; allowed: {o['allowed']}" if o["allowed"] else ""
        click.echo(f"  {o['name']} ({o['type']}, default {o['default']}{allowed}): {o['doc']}")
