"""``iqa`` command group. Subcommands live in sibling modules, imported when they run (see COMMANDS)."""

from __future__ import annotations

import sys

import click

from iqa import __version__
from iqa.errors import IQAError

# Subcommand -> "module:attribute". A command's module is imported only when that command runs (or
# when --help lists them all), so `iqa list` pays for no other command's imports.
COMMANDS = {
    "score": "iqa.cli.score_cmds:score",
    "merge": "iqa.cli.score_cmds:merge",
    "compare": "iqa.cli.compare_cmd:compare",
    "stats": "iqa.cli.stats_cmds:stats",
    "correlate": "iqa.cli.correlate_cmd:correlate",
    "datasets": "iqa.cli.datasets_cmds:datasets",
    "synth": "iqa.cli.synth_cmd:synth",
    "explain": "iqa.cli.explain_cmd:explain",
    "attack": "iqa.cli.attack_cmd:attack",
    "robustness": "iqa.cli.robustness_cmd:robustness",
    "train": "iqa.cli.train_cmd:train",
    "fit-head": "iqa.cli.fit_head_cmd:fit_head",
    "list": "iqa.cli.registry_cmds:list_cmd",
    "info": "iqa.cli.registry_cmds:info",
    "weights": "iqa.cli.weights_cmds:weights",
    "demo": "iqa.cli.demo:demo",
}


class IQAGroup(click.Group):
    """Load subcommands on demand; turn deliberate iqa errors into one-line messages (exit 2) instead of tracebacks."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            import importlib

            module, attr = COMMANDS[cmd_name].split(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return self.commands.get(cmd_name)

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


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
