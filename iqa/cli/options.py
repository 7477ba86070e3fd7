"""Parsing of CLI option strings into typed values (``--opt ssim.downsample=false``)."""

from __future__ import annotations

import ast
import functools
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from iqa.errors import InputError

if TYPE_CHECKING:
    from iqa.api.settings import RunSettings

F = TypeVar("F", bound=Callable[..., Any])


def parse_value(text: str) -> object:
    """'false' -> False, '3' -> 3, '1.5' -> 1.5, '(1, 2)' -> (1, 2), anything else stays a string."""
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_metric_options(pairs: tuple[str, ...], metrics: list[str]) -> dict[str, dict[str, object]]:
    """``("ssim.sigma=2", "data_range=255")`` -> per-metric kwargs; unprefixed keys go to all."""
    out: dict[str, dict[str, object]] = {m: {} for m in metrics}
    for p in pairs:
        if "=" not in p:
            raise InputError(f"--opt {p!r}: expected METRIC.KEY=VALUE or KEY=VALUE")
        key, value = p.split("=", 1)
        target, _, name = key.rpartition(".")
        if target and target not in out:
            raise InputError(f"--opt {p!r}: metric {target!r} is not among the selected metrics {metrics}")
        for m in [target] if target else metrics:
            out[m][name.strip()] = value  # text: the metric's declared option types convert it (iqa.options)
    return out


def parse_shard(text: str | None) -> tuple[int, int]:
    if not text:
        return (1, 1)
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise InputError(f"--shard {text!r}: expected K/N, e.g. 2/4") from None
    if not (n >= 1 and 1 <= k <= n):
        raise InputError(f"--shard {text!r}: need 1 <= K <= N")
    return (k, n)


def check_device(device: str) -> str:
    """``device`` if torch knows it and it is present here (``--device`` values); else an InputError."""
    from iqa.api.settings import RunSettings

    RunSettings(device=device).torch_device()
    return device


def run_settings(
    *,
    device: str = "cpu",
    batch_size: int = 16,
    workers: int = 2,
    cache_dir: Path | None = None,
    max_pixels: int | None = None,
    recursive: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> RunSettings:
    """The job settings of a command's options; the device is checked before any work starts."""
    from iqa.api.settings import RunSettings

    settings = RunSettings(device=device, batch_size=batch_size, workers=workers, cache_dir=cache_dir,
                           max_pixels=max_pixels, recursive=recursive, progress=progress)  # fmt: skip
    settings.torch_device()
    return settings


def default_cache(cache_dir: Path | None, no_cache: bool) -> Path | None:
    """The feature cache folder of ``--cache-dir`` / ``--no-cache`` (default: beside the weights cache)."""
    if no_cache:
        return None
    if cache_dir is not None:
        return cache_dir
    from iqa.weights import cache_dir as weights_cache

    return weights_cache().parent


def split_list(text: str | None) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None or empty -> None (the command's default)."""
    items = [t.strip() for t in (text or "").split(",") if t.strip()]
    return items or None


def command_line() -> str:
    """The command as typed (recorded in reports)."""
    return shlex.join(["iqa", *sys.argv[1:]])


def run_options(batch_size: int) -> Callable[[F], F]:
    """``--batch-size``, ``--workers`` and ``--device``, the same on every command that runs metrics.

    The command receives them as one ``settings`` (:class:`~iqa.api.settings.RunSettings`, the device
    checked); it adds what else it knows (progress, cache, ...) with ``settings.replace``.
    """

    def deco(f: F) -> F:
        @functools.wraps(f)
        def command(*args: Any, batch_size: int, workers: int, device: str, **kwargs: Any) -> Any:
            return f(*args, settings=run_settings(device=device, batch_size=batch_size, workers=workers), **kwargs)

        wrapped: Any = command
        for option in (
            click.option("--device", default="cpu", show_default=True, help="torch device: cpu, cuda, cuda:1, mps."),
            click.option("--workers", default=2, show_default=True, help="Decoding threads."),
            click.option("--batch-size", default=batch_size, show_default=True, help="Images per batch."),
        ):
            wrapped = option(wrapped)
        return cast(F, wrapped)

    return deco


def keep_going_option(f: F) -> F:
    """``--keep-going``: run the metrics that can run, report the others and exit 1 at the end."""
    return click.option(
        "--keep-going",
        is_flag=True,
        help="Run the metrics that can be built; report each one that cannot (missing weights or "
        "dependency) and exit 1 at the end, instead of stopping before any work.",
    )(f)


def report_skipped(skipped: dict[str, str], *, again: bool = False) -> None:
    """One stderr line per metric the run skipped (``again``: the short reminder at the end)."""
    if again and skipped:
        click.echo(f"skipped metrics: {', '.join(skipped)} (reasons above); exit status 1", err=True)
        return
    for reason in skipped.values():
        click.echo(f"skipped metric {reason}", err=True)


def finish_run(skipped_metrics: dict[str, str], report: Path, failed: list[str]) -> None:
    """Common end of a report-writing command: what was not evaluated, where the report is, per-file
    failures on stderr, and exit status 1 if any file failed.
    """
    for name, reason in skipped_metrics.items():
        click.echo(f"not evaluated: {name}: {reason}", err=True)
    click.echo(f"report: {report}")
    for f in failed:
        click.echo(f"skipped: {f}", err=True)
    if failed:
        sys.exit(1)
