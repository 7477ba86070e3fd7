"""Is metric A closer to human scores than metric B on the same images?

Williams' test (Williams, 1959; the form in Steiger, "Tests for comparing elements of a
correlation matrix", Psychological Bulletin 1980, eq. 7, as used for metric comparison by Graham &
Baldwin, EMNLP 2014) compares two *dependent* correlations r12 = corr(MOS, A) and r13 =
corr(MOS, B) that share the MOS, accounting for r23 = corr(A, B):

    t = (r12 - r13) * sqrt((n - 1)(1 + r23) / (2 K (n - 1)/(n - 3) + rbar^2 (1 - r23)^3))
    K = 1 - r12^2 - r13^2 - r23^2 + 2 r12 r13 r23,  rbar = (r12 + r13) / 2,  df = n - 3.

It is exact for Pearson correlations of normal data and is commonly applied to Spearman's (on
ranks); the paired bootstrap in :mod:`iqa.evaluation.bootstrap` makes no such assumption.
"""

from __future__ import annotations

import math

from scipy import stats

from iqa.errors import InputError


def williams_test(r12: float, r13: float, r23: float, n: int) -> dict[str, float]:
    """T statistic, degrees of freedom and two-sided p-value of H0: r12 == r13."""
    if n <= 3:
        raise InputError(f"Williams' test needs n > 3 samples, got {n}")
    k = 1 - r12**2 - r13**2 - r23**2 + 2 * r12 * r13 * r23
    rbar = (r12 + r13) / 2
    den = 2 * k * (n - 1) / (n - 3) + rbar**2 * (1 - r23) ** 3
    if den <= 0:
        return {"t": math.nan, "df": n - 3, "p": math.nan}
    t = (r12 - r13) * math.sqrt((n - 1) * (1 + r23) / den)
    return {"t": t, "df": n - 3, "p": float(2 * stats.t.sf(abs(t), n - 3))}
