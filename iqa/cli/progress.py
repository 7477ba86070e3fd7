"""Progress display: a rich bar on a terminal, periodic plain lines in logs."""

from __future__ import annotations

import sys
import time

import click


class ProgressReporter:
    """``update(done)`` as work advances; ``close()`` at the end."""

    def __init__(self, total: int, description: str, quiet: bool = False):
        self.total, self.quiet = total, quiet
        self._bar = None
        self._last = 0.0
        if quiet:
            return
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self._bar = Progress(description, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(description, total=total)
        self._desc = description

    def update(self, done: int) -> None:
        if self.quiet:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
        elif time.monotonic() - self._last > 5 or done == self.total:
            self._last = time.monotonic()
            click.echo(f"{self._desc}: {done}/{self.total}", err=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
