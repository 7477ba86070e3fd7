"""Parsing of CLI option strings into typed values (``--opt ssim.downsample=false``)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import click

from iqa.errors import InputError


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
    import torch

    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise InputError(f"--device {device!r}: {e}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"--device {device}: CUDA is not available on this machine; use --device cpu")
    return device


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
