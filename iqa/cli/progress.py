"""Progress display: a rich bar on a terminal, periodic plain lines in logs."""

from __future__ import annotations

import sys
import time
from typing import Any

import click


class ProgressReporter:
    """``update(done)`` as work advances; ``close()`` at the end."""

    def __init__(self, total: int, description: str, quiet: bool = False):
        self.total, self.quiet = total, quiet
        self._bar: Any = None  # a rich Progress on a terminal
        self._last = 0.0
        self._closed = False
        if quiet:
            return
        if sys.stderr.isatty():
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self._bar = Progress(description, BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), transient=True)
            self._bar.start()
            self._task = self._bar.add_task(description, total=total)
        self._desc = description

    def update(self, done: int) -> None:
        if self.quiet or self._closed:
            return
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
        elif time.monotonic() - self._last > 5 or done == self.total:
            self._last = time.monotonic()
            click.echo(f"{self._desc}: {done}/{self.total}", err=True)

    def close(self) -> None:
        self._closed = True
        if self._bar is not None:
            self._bar.stop()
            self._bar = None


class ProgressBars:
    """A ``progress(label, done, total)`` callback: one bar per label, closed when it completes.

    ``close()`` stops the bars still open (an interrupted run), so the terminal is left clean.
    """

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._bars: dict[str, ProgressReporter] = {}

    def __call__(self, label: str, done: int, total: int) -> None:
        bar = self._bars.get(label)
        if bar is None:
            bar = self._bars[label] = ProgressReporter(total, label, self.quiet)
        bar.update(done)
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self._bars.values():
            bar.close()

    def __enter__(self) -> ProgressBars:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
