"""Correlation statistics: scipy parity, logistic fits against a reference fit, bootstrap coverage,
Williams' test calibration under the null."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from iqa.errors import InputError
from iqa.evaluation import (
    agreement,
    bootstrap_ci,
    bootstrap_difference,
    fit_mapping,
    krcc,
    orient,
    plcc,
    srcc,
    williams_test,
)
from iqa.evaluation.bootstrap import boot_stats
from iqa.evaluation.correlation import logistic4, logistic5


def data(n: int = 300, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(20, 45, n)  # PSNR-like
    y = logistic5(x, 3.2, 0.35, 31.0, 0.01, 3.0) + rng.normal(0, 0.25, n)  # MOS-like, 1-5
    return x, y


def test_statistics_equal_scipy_exactly() -> None:
    x, y = data()
    x[:10] = x[10]  # ties
    assert srcc(x, y) == stats.spearmanr(x, y).statistic
    assert krcc(x, y) == stats.kendalltau(x, y).statistic
    assert plcc(x, y) == stats.pearsonr(x, y).statistic


def test_orientation_makes_agreement_positive() -> None:
    x, y = data()
    lower_better = -x  # e.g. a distance
    o = orient(lower_better, metric_higher_is_better=False, mos_higher_is_better=True)
    assert srcc(o, y) == pytest.approx(srcc(x, y)) and srcc(o, y) > 0
    assert np.array_equal(orient(x, True, True), x)


@pytest.mark.parametrize("kind", ["logistic5", "logistic4"])
def test_fit_is_as_good_as_a_reference_fit_from_the_true_parameters(kind: str) -> None:
    """Reference: scipy curve_fit started at the generating parameters (what an oracle would do)."""
    x, y = data(seed=1)
    f, p_true = (logistic5, [3.2, 0.35, 31.0, 0.01, 3.0]) if kind == "logistic5" else (logistic4, [4.6, 1.4, 31.0, 2.8])
    p_ref, _ = optimize.curve_fit(f, x, y, p0=p_true, maxfev=20000)
    sse_ref = np.sum((f(x, *p_ref) - y) ** 2)
    fit = fit_mapping(x, y, kind)
    assert fit.kind == kind and fit.converged
    assert np.sum((fit(x) - y) ** 2) <= sse_ref * (1 + 1e-6)
    assert plcc(fit(x), y) == pytest.approx(plcc(f(x, *p_ref), y), abs=1e-6)
    assert plcc(fit(x), y) > plcc(x, y)  # the nonlinearity is real in this data


def test_fit_falls_back_to_linear_and_flags_it() -> None:
    x = np.linspace(0, 1, 50)
    y = 2 * x + 1
    lin = fit_mapping(x, y, "linear")
    assert lin.kind == "linear" and lin.params == pytest.approx((2.0, 1.0))
    const = fit_mapping(np.ones(20), np.arange(20.0), "logistic5")
    assert const.kind == "linear"  # nothing to fit on constant scores
    with pytest.raises(InputError, match="fit must be one of"):
        fit_mapping(x, y, "cubic")


@pytest.mark.parametrize(("kind", "k"), [("logistic5", 5), ("logistic4", 4)])
def test_too_few_points_skip_the_fit_not_the_ranks(kind: str, k: int) -> None:
    """n <= parameters: scipy's curve_fit raised TypeError; now the fit is skipped and said so."""
    x, y = np.arange(float(k)), np.array([1.0, 2.5, 2.0, 4.0, 4.5])[:k]
    fit = fit_mapping(x, y, kind)
    assert fit.kind == "skipped" and not fit.converged and np.isnan(fit(x)).all()
    r = agreement(x, y, fit=kind)
    assert np.isnan(r["plcc"]) and np.isnan(r["rmse"]) and r["fit"] == "skipped"
    assert r["fit_note"] == f"{kind} fit skipped: {k} points for its {k} parameters (needs at least {k + 1})"
    assert r["srcc"] == pytest.approx(srcc(x, y)) and r["krcc"] == pytest.approx(stats.kendalltau(x, y).statistic)
    one_more = np.arange(k + 1.0)
    assert fit_mapping(one_more, one_more**2, kind).kind != "skipped"  # k + 1 points: fitted
    assert agreement(x[:3], y[:3], fit="linear")["fit_note"] == ""  # 3 points for a line: fitted


def test_agreement_drops_nan_pairs_and_reports_them() -> None:
    x, y = data()
    x[:5] = np.nan
    r = agreement(x, y)
    assert r["n"] == 295 and r["dropped"] == 5 and r["srcc"] == pytest.approx(srcc(x[5:], y[5:]))
    with pytest.raises(InputError, match="at least 3"):
        agreement(np.full(5, np.nan), np.arange(5.0))


def test_bootstrap_replicates_are_scipy_on_resampled_pairs() -> None:
    x, y = data(60)
    idx = np.random.default_rng(3).integers(0, 60, size=(5, 60))
    got = boot_stats(x, y, "srcc", idx)
    want = [stats.spearmanr(x[i], y[i]).statistic for i in idx]
    assert got == pytest.approx(want, abs=1e-12)
    assert boot_stats(x, y, "krcc", idx[:2]) == pytest.approx([stats.kendalltau(x[i], y[i]).statistic for i in idx[:2]])


def test_bootstrap_ci_coverage_by_simulation() -> None:
    """Bivariate normal with rho = 0.6: population Spearman is (6/pi) asin(rho/2) (Pearson 1907)."""
    rho, n, sims = 0.6, 150, 150
    truth = 6 / math.pi * math.asin(rho / 2)
    rng = np.random.default_rng(7)
    cov = [[1, rho], [rho, 1]]
    hits = 0
    for s in range(sims):
        xy = rng.multivariate_normal([0, 0], cov, size=n)
        lo, hi = bootstrap_ci(xy[:, 0], xy[:, 1], "srcc", n_boot=400, seed=s)
        hits += lo <= truth <= hi
    assert 0.88 <= hits / sims <= 0.99  # nominal 0.95; percentile intervals run slightly narrow


def test_bootstrap_difference() -> None:
    x, y = data()
    same = bootstrap_difference(x, x, y, n_boot=200)
    assert same["diff_lo"] == same["diff_hi"] == 0 and same["p"] == 1.0
    noisy = x + np.random.default_rng(0).normal(0, 8, len(x))
    d = bootstrap_difference(x, noisy, y, n_boot=500)
    assert d["diff_lo"] > 0 and d["p"] < 0.01


def test_williams_test_is_calibrated_under_the_null() -> None:
    """Two metrics equally correlated with the MOS: about 5 % of p-values fall below 0.05."""
    rng = np.random.default_rng(11)
    n, sims, rejections = 100, 400, 0
    for _ in range(sims):
        mos = rng.normal(size=n)
        a, b = mos + rng.normal(0, 1, n), mos + rng.normal(0, 1, n)
        r = np.corrcoef([mos, a, b])
        rejections += williams_test(r[0, 1], r[0, 2], r[1, 2], n)["p"] < 0.05
    assert 0.02 <= rejections / sims <= 0.09


def test_williams_test_properties() -> None:
    w = williams_test(0.8, 0.7, 0.6, 200)
    assert w["t"] > 0 and w["df"] == 197 and 0 < w["p"] < 0.05
    assert williams_test(0.7, 0.8, 0.6, 200)["t"] == pytest.approx(-w["t"])
    assert williams_test(0.8, 0.8, 0.6, 200)["p"] == pytest.approx(1.0)
    assert williams_test(0.8, 0.7, 0.6, 20)["p"] > w["p"]  # fewer images, weaker evidence
    with pytest.raises(InputError, match="n > 3"):
        williams_test(0.5, 0.4, 0.3, 3)


def test_infinite_scores_keep_their_rank() -> None:
    from iqa.evaluation.correlation import cap_infinities

    x = np.array([10.0, np.inf, 30.0, 20.0, np.inf, -np.inf])
    capped, n = cap_infinities(x)
    assert n == 3 and np.isfinite(capped).all()
    assert (stats.rankdata(capped) == stats.rankdata(x)).all()  # SRCC/KRCC unchanged
    assert capped[1] == capped[4] == 31.0 and capped[5] == 9.0  # 5 % of the finite span (20) beyond it


def test_a_non_monotonic_5_parameter_fit_is_replaced() -> None:
    """Data that rises then falls: the 5-parameter curve would turn back; the mapping must not."""
    x = np.linspace(0, 10, 200)
    y = np.where(x < 7, x, 14 - x) + np.random.default_rng(0).normal(0, 0.05, 200)
    fit = fit_mapping(x, y, "logistic5")
    d = np.diff(fit(np.linspace(0, 10, 500)))
    assert (d >= -1e-12).all() or (d <= 1e-12).all()
    assert fit.kind in ("logistic4", "linear") and not fit.converged
