"""Agreement between metric scores and subjective scores: SRCC, KRCC, PLCC, RMSE.

SRCC, KRCC and PLCC are scipy's (``spearmanr``, ``kendalltau`` tau-b, ``pearsonr``). PLCC and RMSE
are reported after mapping the metric through a monotonic logistic fitted to the MOS, as VQEG
(Final Report on the Validation of Objective Models of Video Quality Assessment, Phase I, 2000)
and Sheikh, Sabir, Bovik (IEEE TIP 2006) do:

- ``logistic5``: ``b1 * (0.5 - 1 / (1 + exp(b2 * (x - b3)))) + b4 * x + b5`` (Sheikh et al.);
  when the fitted curve is not monotonic over the data (its linear term can make it turn back),
  the 4-parameter fit is used instead and ``converged`` is False, so reports say so;
- ``logistic4``: ``(b1 - b2) / (1 + exp(-(x - b3) / |b4|)) + b2`` (VQEG);
- ``linear`` (ordinary least squares) or ``none``.

A fit needs more points than parameters (6 for ``logistic5``, 5 for ``logistic4``): with fewer
(``iqa correlate --limit 4``) it is skipped, kind ``"skipped"``, and PLCC/RMSE are NaN, while
SRCC/KRCC, which need no mapping, are still reported.

Direction: metric scores are oriented so that larger means "better" in the dataset's sense before
anything is computed (a lower-is-better metric on a higher-is-better MOS is negated), so a metric
that agrees with humans has positive correlations whatever its convention.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from iqa.errors import InputError

FITS = ("logistic5", "logistic4", "linear", "none")
N_PARAMS = {"logistic5": 5, "logistic4": 4, "linear": 2, "none": 0}


def logistic5(x: np.ndarray, b1: float, b2: float, b3: float, b4: float, b5: float) -> np.ndarray:
    z = np.clip(b2 * (x - b3), -500, 500)  # exp overflow guard; the curve is flat there anyway
    return b1 * (0.5 - 1.0 / (1.0 + np.exp(z))) + b4 * x + b5


def logistic4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    z = np.clip(-(x - b3) / max(abs(b4), 1e-12), -500, 500)
    return (b1 - b2) / (1.0 + np.exp(z)) + b2


@dataclass(frozen=True)
class Fit:
    """A fitted mapping from metric scores to MOS."""

    kind: str
    params: tuple[float, ...]
    converged: bool

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self.kind == "logistic5":
            return logistic5(x, *self.params)
        if self.kind == "logistic4":
            return logistic4(x, *self.params)
        if self.kind == "linear":
            return self.params[0] * x + self.params[1]
        if self.kind == "skipped":  # too few points to fit: no mapped scores
            return np.full_like(x, np.nan)
        return x


def too_few_points(n: int, kind: str) -> str:
    """Why ``kind`` cannot be fitted to ``n`` points, or "" when it can."""
    k = N_PARAMS.get(kind, 0)
    if kind in ("none", "linear") or n > k:
        return ""
    return f"{kind} fit skipped: {n} points for its {k} parameters (needs at least {k + 1})"


def _starts(x: np.ndarray, y: np.ndarray, kind: str) -> list[list[float]]:
    """Initial points: the data's ranges (the usual VQEG start), then wider and flipped slopes."""
    sx = float(np.std(x)) or 1.0
    span, mid = float(np.ptp(y)) or 1.0, float(np.median(x))
    if kind == "logistic4":
        return [[float(y.max()), float(y.min()), mid, sx / 2], [float(y.max()), float(y.min()), mid, sx * 2],
                [float(y.min()), float(y.max()), mid, sx]]  # fmt: skip
    return [[span, 1.0 / sx, mid, 0.0, float(np.mean(y))], [span, 4.0 / sx, mid, 0.0, float(np.mean(y))],
            [span, 0.25 / sx, mid, 0.0, float(np.mean(y))]]  # fmt: skip


def fit_mapping(x: np.ndarray, y: np.ndarray, kind: str = "logistic5") -> Fit:
    """Least-squares fit of ``kind`` (see module docstring); falls back to linear if no start converges.

    Too few points for the curve's parameters give ``Fit("skipped", (), False)`` (NaN mapped scores).
    """
    if kind not in FITS:
        raise InputError(f"fit must be one of {FITS}, got {kind!r}")
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if kind == "none":
        return Fit("none", (), True)
    if too_few_points(len(x), kind):
        return Fit("skipped", (), False)
    slope, intercept = np.polyfit(x, y, 1) if np.ptp(x) > 0 else (0.0, float(np.mean(y)))
    linear = Fit("linear", (float(slope), float(intercept)), True)
    if kind == "linear":
        return linear
    if np.ptp(x) == 0:  # constant scores: no curve to fit
        return Fit("linear", linear.params, False)
    f = logistic5 if kind == "logistic5" else logistic4
    best: tuple[float, tuple[float, ...]] | None = None
    for p0 in _starts(x, y, kind):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = optimize.curve_fit(f, x, y, p0=p0, maxfev=20000)
        except (RuntimeError, ValueError, optimize.OptimizeWarning):
            continue
        sse = float(np.sum((f(x, *p) - y) ** 2))
        if math.isfinite(sse) and (best is None or sse < best[0]):
            best = (sse, tuple(float(v) for v in p))
    lin_sse = float(np.sum((linear(x) - y) ** 2))
    if best is None or best[0] > lin_sse * (1 + 1e-9):  # a logistic that fits worse than a line did not converge
        return Fit("linear", linear.params, False)
    fit = Fit(kind, best[1], True)
    if not _monotonic(fit, x):
        # The linear term lets the 5-parameter curve turn back; a quality mapping must not (VQEG).
        # The 4-parameter logistic is monotonic by construction.
        fallback = fit_mapping(x, y, "logistic4")
        return Fit(fallback.kind, fallback.params, False)
    return fit


def _monotonic(fit: Fit, x: np.ndarray) -> bool:
    d = np.diff(fit(np.linspace(float(np.min(x)), float(np.max(x)), 512)))
    return bool((d >= -1e-12).all() or (d <= 1e-12).all())


def orient(scores: np.ndarray, metric_higher_is_better: bool, mos_higher_is_better: bool) -> np.ndarray:
    """Scores negated when the metric's direction is the opposite of the MOS's."""
    s = np.asarray(scores, np.float64)
    return s if metric_higher_is_better == mos_higher_is_better else -s


def cap_infinities(x: np.ndarray) -> tuple[np.ndarray, int]:
    """Infinite scores (PSNR of an unchanged image) moved just past the finite range, 5 % of its span.

    Ranks are unchanged (every +inf stays above every finite score, tied with the other +inf), so
    SRCC/KRCC are exact; PLCC and the fit see a finite stand-in. Returns the array and the count.
    """
    x = np.asarray(x, np.float64).copy()
    inf = np.isinf(x)
    fin = x[np.isfinite(x)]
    if not inf.any() or fin.size == 0:
        return x, int(inf.sum()) if fin.size else 0
    pad = 0.05 * (float(np.ptp(fin)) or 1.0)
    x[x == np.inf], x[x == -np.inf] = fin.max() + pad, fin.min() - pad
    return x, int(inf.sum())


def srcc(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.spearmanr(x, y).statistic)


def krcc(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.kendalltau(x, y).statistic)


def plcc(x: np.ndarray, y: np.ndarray) -> float:
    return float(stats.pearsonr(x, y).statistic)


def rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(x, np.float64) - np.asarray(y, np.float64)) ** 2)))


def _clean(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError(f"scores and mos must be 1-D of the same length, got {x.shape} and {y.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok], int((~ok).sum())


def agreement(scores: np.ndarray, mos: np.ndarray, *, fit: str = "logistic5") -> dict[str, float | str | int]:
    """SRCC, KRCC, PLCC and RMSE (after ``fit``) of oriented scores vs MOS; NaN pairs are dropped.

    With too few points for ``fit`` the fit is skipped: PLCC and RMSE are NaN and ``fit_note`` says why.
    """
    x, y, dropped = _clean(scores, mos)
    if len(x) < 3:
        raise InputError(f"need at least 3 scored images with finite values, got {len(x)}")
    mapping = fit_mapping(x, y, fit)
    skipped = mapping.kind == "skipped"
    pred = mapping(x)
    return {
        "n": len(x), "dropped": dropped, "srcc": srcc(x, y), "krcc": krcc(x, y),
        "plcc": math.nan if skipped else plcc(pred, y), "rmse": math.nan if skipped else rmse(pred, y),
        "plcc_raw": plcc(x, y), "fit": mapping.kind, "fit_converged": mapping.converged,
        "fit_note": too_few_points(len(x), fit),
    }  # fmt: skip
