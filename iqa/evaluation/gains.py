"""What an attack buys: per-metric gains over the unattacked result, bitrates, reweighting statistics.

Inputs are the per-image rows the attacks write (:mod:`iqa.attacks.compression_run`: one row per
image with ``<metric>_plain`` / ``<metric>_hacked`` scores and ``bpp_plain`` / ``bpp_hacked``), so
these numbers are computed here once and the reports only show them.

Gains are signed so that positive means "the metric rates the attacked image better": for metrics
where lower is better (distances), the sign is flipped.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Row = Mapping[str, Any]


def gain_percent(plain: float, hacked: float, higher_is_better: bool) -> float:
    """Relative improvement of the hacked score over plain JPEG, in %, positive = the metric says better."""
    if plain == 0:
        return 0.0 if hacked == plain else float("inf")
    change = (hacked - plain) / abs(plain) * 100
    return change if higher_is_better else -change


def _pairs(rows: Sequence[Row], metric: str) -> list[tuple[float, float]]:
    pairs = [(float(r[f"{metric}_plain"]), float(r[f"{metric}_hacked"])) for r in rows if f"{metric}_plain" in r]
    return [(a, b) for a, b in pairs if math.isfinite(a) and math.isfinite(b)]


def transfer_table(rows: Sequence[Row], higher_is_better: Mapping[str, bool], target: str) -> list[dict[str, Any]]:
    """Per metric: mean plain and hacked score, mean and median gain (%), fraction improved, n.

    The attack's ``target`` comes first, then the metrics by falling mean gain; metrics without a
    finite pair of scores are left out.
    """
    table: list[dict[str, Any]] = []
    for m, hib in higher_is_better.items():
        pairs = _pairs(rows, m)
        if not pairs:
            continue
        gains = [gain_percent(a, b, hib) for a, b in pairs]
        better = sum((b > a) if hib else (b < a) for a, b in pairs)
        table.append(
            {
                "metric": m,
                "target": m == target,
                "higher_is_better": hib,
                "n": len(pairs),
                "plain": statistics.fmean(a for a, _ in pairs),
                "hacked": statistics.fmean(b for _, b in pairs),
                "mean_gain_pct": statistics.fmean(gains),
                "median_gain_pct": statistics.median(gains),
                "improved": better / len(pairs),
            }
        )
    table.sort(key=lambda t: (not t["target"], -t["mean_gain_pct"]))
    return table


def per_image_gains(rows: Sequence[Row], metric: str, higher_is_better: bool) -> list[tuple[float, str]]:
    """(gain %, image) of every row with finite scores for ``metric``, smallest gain first."""
    out = []
    for r in rows:
        a, b = float(r.get(f"{metric}_plain", math.nan)), float(r.get(f"{metric}_hacked", math.nan))
        if math.isfinite(a):
            out.append((gain_percent(a, b, higher_is_better), str(r["image"])))
    return sorted(out)


def bitrate_change(rows: Sequence[Row]) -> dict[str, float]:
    """Mean bits per pixel of plain and hacked JPEG and the relative change (%)."""
    if not rows:
        return {"bpp_plain": math.nan, "bpp_hacked": math.nan, "change_pct": math.nan}
    a = statistics.fmean(float(r["bpp_plain"]) for r in rows)
    b = statistics.fmean(float(r["bpp_hacked"]) for r in rows)
    return {"bpp_plain": a, "bpp_hacked": b, "change_pct": 100 * (b - a) / a}


def relative_change(before: Mapping[str, float], after: Mapping[str, float]) -> dict[str, float]:
    """``(after - before) / before`` per key (keys with a zero ``before`` are left out)."""
    return {k: (after[k] - before[k]) / before[k] for k in before if before[k]}


def effective_sample_size(probabilities: Any) -> float:
    """Kish's effective sample size ``1 / sum(p^2)`` of sampling probabilities summing to 1."""
    p = np.asarray(probabilities, dtype=np.float64)
    return float(1.0 / np.sum(p**2))


@dataclass(frozen=True)
class CompressionSummary:
    """The numbers of a compression-hack report: transfer table, bitrate, per-image target gains."""

    transfer: list[dict[str, Any]]
    bitrate: dict[str, float]
    target_gains: list[tuple[float, str]]  # (gain %, image), smallest first


def summarize_compression(rows: Sequence[Row], higher_is_better: Mapping[str, bool], target: str) -> CompressionSummary:
    """:func:`transfer_table`, :func:`bitrate_change` and the target's :func:`per_image_gains`."""
    return CompressionSummary(
        transfer_table(rows, higher_is_better, target),
        bitrate_change(rows),
        per_image_gains(rows, target, higher_is_better.get(target, True)),
    )
