"""``iqa robustness IMAGES --out DIR``: MSU robustness scores of FR metrics under FGSM, I-FGSM and compression hacks."""

from __future__ import annotations

from pathlib import Path

import click

from iqa.cli.options import command_line, finish_run, split_list
from iqa.cli.progress import ProgressBars


@click.command()
@click.argument("images", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Output folder (report.html, robustness.csv, ...).",
)
@click.option(
    "--quality", default=30, show_default=True, type=click.IntRange(1, 100), help="JPEG quality of the clean images."
)
@click.option(
    "--attack",
    "attacks",
    multiple=True,
    default=("fgsm", "ifgsm"),
    show_default=True,
    help="fgsm, ifgsm, or hack:DIR (the output folder of `iqa attack compression`); repeat for several.",
)
@click.option(
    "--metrics",
    "metric_list",
    help="Comma-separated FR metrics (default: every differentiable FR metric that can be built).",
)
@click.option("--resume", is_flag=True, help="Continue a stopped run in OUT.")
@click.option("-q", "--quiet", is_flag=True)
def robustness(
    images: Path, out: Path, quality: int, attacks: tuple[str, ...], metric_list: str | None, resume: bool, quiet: bool
) -> None:
    """Score each metric on plain JPEG and after each attack; write the robustness table."""
    from iqa.pipelines import robustness_report

    with ProgressBars(quiet) as bars:
        outcome = robustness_report(images, out, quality=quality, attacks=attacks, metrics=split_list(metric_list),
                                    resume=resume, progress=bars, command=command_line())  # fmt: skip
    for t in outcome.table:
        click.echo(
            f"{t['attack']:<12} {t['metric']:<10} R {t['robustness']:6.3f} ± {t['robustness_ci']:.3f}  "
            f"gain {t['abs_gain']:+.3f}  improved {100 * t['improved']:.0f} %"
        )
    finish_run(outcome.run.skipped_metrics, outcome.paths["html"], outcome.run.failed)
