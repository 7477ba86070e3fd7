"""``iqa correlate DATASET --root DIR -m M ... --report OUT/``: metrics vs human scores."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from iqa.cli.options import parse_metric_options, parse_value, run_options
from iqa.cli.progress import ProgressBars

if TYPE_CHECKING:
    from iqa.api.settings import RunSettings


def parse_dataset_options(pairs: tuple[str, ...]) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{p!r}: expected KEY=VALUE, e.g. resolution=1024x768", param_hint="--ds-opt")
        out[key.strip()] = parse_value(value)
    return out


def _command_line(ctx: click.Context) -> str:
    """The invocation as typed, rebuilt from the parameters the user set (for the report)."""
    parts = ["iqa", "correlate"]
    for p in ctx.command.params:
        source = ctx.get_parameter_source(p.name)
        if source is None or source.name == "DEFAULT":
            continue
        values = ctx.params[p.name]
        values = list(values) if isinstance(values, tuple) else [values]
        for v in values:
            if isinstance(p, click.Argument):
                parts.append(str(v))
            elif getattr(p, "is_flag", False):
                if v:
                    parts.append(p.opts[0])
            else:
                parts += [p.opts[0], str(v)]
    return " ".join(shlex.quote(x) for x in parts)


@click.command()
@click.argument("dataset")
@click.option(
    "--root",
    required=True,
    type=click.Path(exists=True, path_type=Path),
    help="The extracted dataset folder (for `csv`: the label CSV).",
)
@click.option("-m", "--metric", "metrics", multiple=True, required=True, help="Metric; repeat for several.")
@click.option(
    "--report",
    "report",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder: CSV tables, report.md, report.html.",
)
@click.option("--split", type=click.Choice(["train", "val", "test", "all"]), default="all", show_default=True)
@click.option(
    "--fit",
    type=click.Choice(["logistic5", "logistic4", "linear", "none"]),
    default="logistic5",
    show_default=True,
    help="Mapping fitted before PLCC/RMSE.",
)
@click.option("--bootstrap", "n_boot", default=1000, show_default=True, help="Bootstrap replicates for CIs (0: none).")
@click.option("--seed", default=0, show_default=True)
@click.option("--limit", type=int, help="Use only the first N records (a quick look).")
@click.option("--allow-missing", is_flag=True, help="Score the images that exist instead of refusing.")
@click.option("--opt", "opts", multiple=True, help="Metric option METRIC.KEY=VALUE.")
@click.option("--ds-opt", "ds_opts", multiple=True, help="Dataset option KEY=VALUE, e.g. resolution=1024x768.")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), help="Score cache (default REPORT/cache).")
@run_options(batch_size=16)
@click.option("-q", "--quiet", is_flag=True)
def correlate(
    dataset: str,
    root: Path,
    metrics: tuple[str, ...],
    report: Path,
    split: str,
    fit: str,
    n_boot: int,
    seed: int,
    limit: int | None,
    allow_missing: bool,
    opts: tuple[str, ...],
    ds_opts: tuple[str, ...],
    cache: Path | None,
    settings: RunSettings,
    quiet: bool,
) -> None:
    """Correlate metrics with a MOS dataset's scores (SRCC/KRCC/PLCC/RMSE, CIs, per group, significance).

    Scores are cached per image under the cache folder: an interrupted run resumes, and adding a
    metric later computes only that metric. Images a metric cannot score are listed in the report
    and make the exit status 1 (the report is still written).
    """
    import iqa
    from iqa.pipelines import correlation_report

    options = parse_metric_options(opts, list(metrics))
    built = {m: iqa.create(m, **options.get(m, {})) for m in metrics}
    with ProgressBars(quiet) as bars:
        outcome = correlation_report(
            dataset, built, report, cache=cache, command=_command_line(click.get_current_context()), root=root,
            split=None if split == "all" else split, allow_missing=allow_missing, limit=limit, fit=fit, n_boot=n_boot,
            seed=seed, settings=settings.replace(progress=bars), dataset_options=parse_dataset_options(ds_opts),
        )  # fmt: skip
    result = outcome.result
    cols = ["metric", "n", "srcc", "krcc", "plcc", "rmse", "errors"]
    click.echo(result.overall.reindex(columns=cols).to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)
    failed = False
    for row in result.overall.itertuples():
        if row.errors:
            failed = True
            click.echo(f"warning: {row.metric} failed on {row.errors} image(s), e.g. {row.first_error}", err=True)
    click.echo(f"report: {outcome.paths['html']}", err=True)
    if failed:  # as `iqa score`: the report is written, but scripts learn that some images failed
        raise SystemExit(1)
