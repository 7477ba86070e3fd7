"""Ridge regression heads on frozen features, as CONTRIQUE's linear evaluation.

The fit is sklearn's ``Ridge(alpha, fit_intercept=True)`` in closed form (centred X and y, float64;
the dual form when there are fewer samples than features, as both give the same solution), so a
head fitted here predicts what sklearn's would (checked to 1e-8 in ``tests/training/test_ridge.py``).
``fit_ridge_cv`` picks alpha on held-out folds, grouped by content when groups are given, so that
distorted versions of one image never sit on both sides of a split.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from iqa.errors import InputError

ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 13))


@dataclass
class RidgeFit:
    """``predict(X) = X @ coef + intercept``; ``cv`` holds the held-out error per alpha when chosen by CV."""

    coef: np.ndarray
    intercept: float
    alpha: float
    cv: dict[float, float] = field(default_factory=dict)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) @ self.coef + self.intercept


def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64).ravel()
    if x.ndim != 2 or len(x) != len(y):
        raise InputError(f"ridge: need features (n, d) and n targets, got {x.shape} and {y.shape}")
    if len(y) < 2 or not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InputError("ridge: need at least two samples and finite features and targets")
    return x, y


def fit_ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> RidgeFit:
    """Sklearn ``Ridge(alpha=alpha, fit_intercept=True).fit(x, y)`` in closed form."""
    x, y = _check(x, y)
    if alpha <= 0:
        raise InputError(f"ridge: alpha must be > 0, got {alpha}")
    mx, my = x.mean(0), y.mean()
    xc, yc = x - mx, y - my
    n, d = xc.shape
    if n < d:  # dual: w = Xc^T (Xc Xc^T + a I)^-1 yc
        coef = xc.T @ np.linalg.solve(xc @ xc.T + alpha * np.eye(n), yc)
    else:
        coef = np.linalg.solve(xc.T @ xc + alpha * np.eye(d), xc.T @ yc)
    return RidgeFit(coef=coef, intercept=float(my - mx @ coef), alpha=float(alpha))


def folds_of(n: int, k: int, groups: np.ndarray | None, seed: int) -> list[np.ndarray]:
    """Indices of the held-out part of each of ``k`` folds; whole groups stay together."""
    rng = np.random.default_rng(seed)
    keys = np.arange(n) if groups is None else np.asarray(groups)
    uniq = rng.permutation(np.unique(keys))
    k = min(k, len(uniq))
    if k < 2:
        raise InputError("ridge: cross-validation needs at least two groups (contents)")
    return [np.flatnonzero(np.isin(keys, part)) for part in np.array_split(uniq, k)]


def fit_ridge_cv(
    x: np.ndarray,
    y: np.ndarray,
    *,
    alphas: tuple[float, ...] = ALPHAS,
    k: int = 5,
    groups: np.ndarray | None = None,
    seed: int = 0,
) -> RidgeFit:
    """Alpha with the lowest held-out mean squared error over ``k`` (grouped) folds, refit on all."""
    x, y = _check(x, y)
    folds = folds_of(len(y), k, groups, seed)
    cv = {}
    for a in alphas:
        err = 0.0
        for test in folds:
            train = np.setdiff1d(np.arange(len(y)), test)
            err += float(((fit_ridge(x[train], y[train], a).predict(x[test]) - y[test]) ** 2).sum())
        cv[float(a)] = err / len(y)
    best = min(cv, key=cv.__getitem__)
    fit = fit_ridge(x, y, best)
    fit.cv = cv
    return fit
