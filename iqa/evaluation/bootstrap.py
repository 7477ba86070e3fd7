"""Bootstrap confidence intervals for correlations, and paired bootstrap differences.

Percentile bootstrap over images (Efron & Tibshirani, "An Introduction to the Bootstrap", 1993):
resample (score, MOS) pairs with replacement ``n_boot`` times, recompute the statistic, take the
``(1-level)/2`` and ``(1+level)/2`` quantiles. For PLCC the logistic is fitted once on all data and
the mapped scores are resampled (refitting per replicate is 1000x slower and changes little).
Spearman on a replicate ranks the replicate (ties from repeated draws get average ranks), so it
is exactly ``scipy.stats.spearmanr`` of the resampled pairs.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from iqa.errors import InputError


def _rank_rows(a: np.ndarray) -> np.ndarray:
    return stats.rankdata(a, axis=1)


def _pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    den = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(axis=1) / den


def _replicates(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def boot_stats(x: np.ndarray, y: np.ndarray, stat: str, idx: np.ndarray) -> np.ndarray:
    """The statistic on each replicate (rows of ``idx``), vectorised for srcc/plcc."""
    xs, ys = x[idx], y[idx]
    if stat == "srcc":
        return _pearson_rows(_rank_rows(xs), _rank_rows(ys))
    if stat == "plcc":
        return _pearson_rows(xs, ys)
    if stat == "krcc":
        return np.array([stats.kendalltau(a, b).statistic for a, b in zip(xs, ys)])
    raise InputError(f"stat must be srcc, plcc or krcc, got {stat!r}")


def bootstrap_ci(
    x: np.ndarray,
    y: np.ndarray,
    stat: str = "srcc",
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    chunk: int = 100,
) -> tuple[float, float]:
    """Percentile interval of ``stat(x, y)`` (pass logistic-mapped scores for PLCC)."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    idx = _replicates(len(x), n_boot, seed)
    vals = np.concatenate([boot_stats(x, y, stat, idx[i : i + chunk]) for i in range(0, n_boot, chunk)])
    lo, hi = np.nanquantile(vals, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def bootstrap_difference(
    a: np.ndarray,
    b: np.ndarray,
    y: np.ndarray,
    stat: str = "srcc",
    *,
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    chunk: int = 100,
) -> dict[str, float]:
    """Paired bootstrap of ``stat(a, y) - stat(b, y)``: the same images in both, per replicate.

    ``p`` is the two-sided bootstrap p-value, twice the smaller tail fraction around 0.
    """
    a, b, y = (np.asarray(v, np.float64) for v in (a, b, y))
    idx = _replicates(len(y), n_boot, seed)
    diffs = np.concatenate(
        [
            boot_stats(a, y, stat, idx[i : i + chunk]) - boot_stats(b, y, stat, idx[i : i + chunk])
            for i in range(0, n_boot, chunk)
        ]
    )
    lo, hi = np.nanquantile(diffs, [(1 - level) / 2, (1 + level) / 2])
    p = min(1.0, 2 * min(np.mean(diffs <= 0), np.mean(diffs >= 0)))
    return {"diff_lo": float(lo), "diff_hi": float(hi), "p": float(p)}
