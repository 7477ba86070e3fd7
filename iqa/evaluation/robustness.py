"""Robustness of a metric to an attack, from its scores on clean and attacked images.

Antsiferova et al., "Comparing the Robustness of Modern No-Reference Image- and Video-Quality
Metrics to Adversarial Attacks", AAAI 2024; reference implementation
``msu-video-group/MSU_Metrics_Robustness_Benchmark``, ``score_methods.py``. Conventions kept from
it: every score except ``relative_gain_classic`` first min-max scales both the clean and the
attacked values with the range of the *clean* values; the robustness score is

    R_i = log10( max(1 - s_i, s_i - 0) / (|s_i - s'_i| + 1e-6) ),   R = mean_i R_i

(higher = more robust: the attack moved the score little relative to the room it had). Gains are
signed so that positive means "the metric now says better": for metrics where lower is better
(distances such as LPIPS), pass ``higher_is_better=False`` (the reference's ``inverse_sign``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

from iqa.errors import InputError


def _pair(clean: object, attacked: object) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(clean, dtype=np.float64).reshape(-1)
    a = np.asarray(attacked, dtype=np.float64).reshape(-1)
    if c.shape != a.shape or c.size == 0:
        raise InputError(f"clean and attacked scores must be non-empty and the same length, got {c.size} and {a.size}")
    if not (np.isfinite(c).all() and np.isfinite(a).all()):
        raise InputError("clean or attacked scores contain NaN/inf; drop the failed images first")
    return c, a


def minmax_scaled(clean: object, attacked: object) -> tuple[np.ndarray, np.ndarray]:
    """Both arrays mapped by the affine map that takes the clean values' [min, max] to [0, 1].

    A constant clean set leaves the values unscaled (shifted by the min), as scikit-learn's
    MinMaxScaler does for a zero range.
    """
    c, a = _pair(clean, attacked)
    lo, span = c.min(), c.max() - c.min()
    span = span if span > 0 else 1.0
    return (c - lo) / span, (a - lo) / span


def robustness_per_image(clean: object, attacked: object, *, eps: float = 1e-6) -> np.ndarray:
    """R_i per image (see the module docstring), on min-max scaled values."""
    s, t = minmax_scaled(clean, attacked)
    return np.log10(np.maximum(1 - s, s) / (np.abs(s - t) + eps))


def normalized_absolute_gain(clean: object, attacked: object, *, higher_is_better: bool = True) -> np.ndarray:
    """S' - s per image on min-max scaled values (positive = the metric says better)."""
    s, t = minmax_scaled(clean, attacked)
    return (t - s) if higher_is_better else (s - t)


def normalized_relative_gain(clean: object, attacked: object, *, higher_is_better: bool = True) -> np.ndarray:
    """(s' - s) / (s + 1) per image on min-max scaled values (both shifted by +1 before the ratio)."""
    s, t = minmax_scaled(clean, attacked)
    g = (t - s) / (s + 1)
    return g if higher_is_better else -g


def relative_gain_classic(clean: object, attacked: object, *, eps: float = 1e-6) -> np.ndarray:
    """(s' - s) / (s + eps) per image on the raw values (unsigned by direction, as in the reference)."""
    c, a = _pair(clean, attacked)
    return (a - c) / (c + eps)


def wasserstein_score(clean: object, attacked: object, *, higher_is_better: bool = True) -> float:
    """W1 distance between the scaled clean and attacked distributions, signed by the mean shift."""
    s, t = minmax_scaled(clean, attacked)
    sign = np.sign(t.mean() - s.mean()) * (1 if higher_is_better else -1)
    return float(stats.wasserstein_distance(s, t) * sign)


def energy_distance_score(clean: object, attacked: object, *, higher_is_better: bool = True) -> float:
    """Energy distance between the scaled clean and attacked distributions, signed by the mean shift."""
    s, t = minmax_scaled(clean, attacked)
    sign = np.sign(t.mean() - s.mean()) * (1 if higher_is_better else -1)
    return float(stats.energy_distance(s, t) * sign)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Mean +- Student-t half-width over images; (mean, half-width), half-width NaN for one value."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 2:
        return float(v.mean()), float("nan")
    half = stats.t.ppf(0.5 + level / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size)
    return float(v.mean()), float(half)


@dataclass(frozen=True)
class RobustnessSummary:
    """One metric under one attack: means over images with 95 % t-intervals."""

    n: int
    robustness: float
    robustness_ci: float
    abs_gain: float
    abs_gain_ci: float
    rel_gain: float
    wasserstein: float
    energy: float
    improved: float  # fraction of images the metric rates better after the attack


def summarize(clean: object, attacked: object, *, higher_is_better: bool = True) -> RobustnessSummary:
    """Every score of this module for one metric and attack."""
    c, a = _pair(clean, attacked)
    r, r_ci = t_interval(robustness_per_image(c, a))
    g, g_ci = t_interval(normalized_absolute_gain(c, a, higher_is_better=higher_is_better))
    rel = float(normalized_relative_gain(c, a, higher_is_better=higher_is_better).mean())
    better = (a > c) if higher_is_better else (a < c)
    return RobustnessSummary(
        c.size,
        r,
        r_ci,
        g,
        g_ci,
        rel,
        wasserstein_score(c, a, higher_is_better=higher_is_better),
        energy_distance_score(c, a, higher_is_better=higher_is_better),
        float(better.mean()),
    )


def robustness_table(
    rows: Sequence[Mapping[str, Any]], attacks: Sequence[str], higher_is_better: Mapping[str, bool]
) -> list[dict[str, Any]]:
    """One dict per (attack, metric) with every score of :func:`summarize` over the finite pairs.

    ``rows`` are the per-image records of :func:`iqa.attacks.robustness_run.run_robustness`
    (``attack``, ``metric``, ``clean``, ``attacked``).
    """
    table = []
    for attack in attacks:
        for metric, hib in higher_is_better.items():
            pairs = [(float(r["clean"]), float(r["attacked"])) for r in rows
                     if r["attack"] == attack and r["metric"] == metric]  # fmt: skip
            pairs = [p for p in pairs if math.isfinite(p[0]) and math.isfinite(p[1])]
            if pairs:
                s = summarize([p[0] for p in pairs], [p[1] for p in pairs], higher_is_better=hib)
                table.append({"attack": attack, "metric": metric, **asdict(s)})
    return table
