"""``iqa`` command group. Subcommands live in sibling modules and are attached here."""

from __future__ import annotations

import sys

import click

from iqa import __version__
from iqa.errors import IQAError


class IQAGroup(click.Group):
    """Turn deliberate iqa errors into one-line messages (exit 2) instead of tracebacks."""

    def invoke(self, ctx: click.Context):  # noqa: ANN201
        try:
            return super().invoke(ctx)
        except IQAError as e:
            click.echo(f"error: {e}", err=True)
            sys.exit(2)


@click.group(cls=IQAGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="iqa")
def cli() -> None:
    """Image-quality metrics: score folders, compare image sets, correlate with MOS datasets, manage weights."""


def _attach() -> None:
    from iqa.cli.attack_cmd import attack
    from iqa.cli.compare_cmd import compare
    from iqa.cli.correlate_cmd import correlate
    from iqa.cli.datasets_cmds import datasets
    from iqa.cli.demo import demo
    from iqa.cli.explain_cmd import explain
    from iqa.cli.fit_head_cmd import fit_head
    from iqa.cli.registry_cmds import info, list_cmd
    from iqa.cli.robustness_cmd import robustness
    from iqa.cli.score_cmds import merge, score
    from iqa.cli.synth_cmd import synth
    from iqa.cli.train_cmd import train
    from iqa.cli.weights_cmds import weights

    for cmd in (
        score,
        merge,
        compare,
        correlate,
        datasets,
        synth,
        explain,
        attack,
        robustness,
        train,
        fit_head,
        list_cmd,
        info,
        weights,
        demo,
    ):
        cli.add_command(cmd)


_attach()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
