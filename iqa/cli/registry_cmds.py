"""``iqa list`` and ``iqa info``: the registry as a table or JSON."""

from __future__ import annotations

import json
import math
from typing import Any

import click

from iqa.registry import MetricSpec


def _range(spec: MetricSpec) -> str:
    lo, hi = spec.value_range
    f = lambda v: ("inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:g}"  # noqa: E731
    return f"[{f(lo)}, {f(hi)}]"


@click.command("list")
@click.option("--kind", type=click.Choice(["fr", "nr", "dist"]), help="Only this kind of metric.")
@click.option("--pattern", help="fnmatch pattern on the name, e.g. 'ssim*'.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one object per metric).")
def list_cmd(kind: str | None, pattern: str | None, as_json: bool) -> None:
    """List registered metrics."""
    import iqa

    specs = [iqa.get_spec(n) for n in iqa.list_metrics(kind=kind, pattern=pattern)]
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in specs], indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("name", "kind", "better", "range", "grad", "colour", "summary")
    for s in specs:
        t.add_row(
            s.name,
            s.kind,
            "higher" if s.higher_is_better else "lower",
            _range(s),
            "yes" if s.differentiable else "no",
            s.color,
            s.summary,
        )
    Console().print(t)


def _option_rows(cls: type[Any]) -> list[dict]:
    """Each declared option: name, type, default, allowed values or range, one-line doc."""
    rows = []
    for o in cls.declared_options().values():
        allowed = ", ".join(repr(c) for c in o.choices) if o.choices else (o.range.describe() if o.range else "")
        rows.append({"name": o.name, "type": o.type_name, "default": repr(o.default), "allowed": allowed, "doc": o.doc})
    return rows


@click.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def info(name: str, as_json: bool) -> None:
    """Show the full spec and the declared options (types, defaults, allowed values, docs) of metric NAME."""
    import inspect

    import iqa.api  # noqa: F401 - imported for its side effect: it fills the registry
    from iqa.registry import get_metric_class

    cls = get_metric_class(name)
    spec = cls.spec  # set by register_metric
    options = _option_rows(cls)
    if as_json:
        click.echo(json.dumps({**spec.to_dict(), "options": options}, indent=1))
        return
    for k, v in spec.to_dict().items():
        click.echo(f"{k:>26}: {v}")
    doc = (inspect.getdoc(cls) or "").splitlines()
    if doc:
        click.echo(f"{'doc':>26}: {doc[0]}")
    click.echo("options:")
    for o in options:
        allowed = f"; allowed: {o['allowed']}" if o["allowed"] else ""
        click.echo(f"  {o['name']} ({o['type']}, default {o['default']}{allowed}): {o['doc']}")
