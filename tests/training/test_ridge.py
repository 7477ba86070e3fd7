"""Ridge heads: the closed form equals sklearn's Ridge (primal and dual cases), CV picks the alpha with
the lowest held-out error and keeps content groups on one side of every split."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from iqa.errors import InputError
from iqa.training.ridge import fit_ridge, fit_ridge_cv, folds_of


@pytest.mark.parametrize("n,d", [(200, 30), (30, 200)])  # n > d: primal solve; n < d: dual (CONTRIQUE's 4096 features)
def test_equals_sklearn(n: int, d: int) -> None:
    rng = np.random.default_rng(n)
    x, y = rng.normal(size=(n, d)) + 3, rng.normal(size=n) * 5 + 50
    ours = fit_ridge(x, y, 0.1)
    ref = Ridge(alpha=0.1, fit_intercept=True, solver="cholesky").fit(x, y)
    np.testing.assert_allclose(ours.coef, ref.coef_, rtol=1e-8, atol=1e-10)
    assert ours.intercept == pytest.approx(ref.intercept_, abs=1e-8)
    xt = rng.normal(size=(7, d))
    np.testing.assert_allclose(ours.predict(xt), ref.predict(xt), rtol=0, atol=1e-8)


def test_cv_error_is_the_held_out_error_and_the_best_alpha_wins() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 20))
    y = x @ rng.normal(size=20) + rng.normal(size=60) * 0.5
    groups = np.repeat(np.arange(12), 5)
    fit = fit_ridge_cv(x, y, alphas=(0.01, 1.0, 1e4), k=4, groups=groups)
    assert fit.alpha == min(fit.cv, key=fit.cv.__getitem__)
    assert fit.cv[1e4] > fit.cv[1.0]  # shrinking everything to the mean is worse on this well-posed problem
    # the CV error of one alpha by hand
    folds = folds_of(60, 4, groups, 0)
    err = (
        sum(((fit_ridge(np.delete(x, t, 0), np.delete(y, t), 1.0).predict(x[t]) - y[t]) ** 2).sum() for t in folds) / 60
    )
    assert fit.cv[1.0] == pytest.approx(err, rel=1e-12)


def test_folds_keep_groups_together() -> None:
    groups = np.repeat(np.arange(7), 3)
    folds = folds_of(21, 3, groups, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(21))
    for t in folds:
        inside = set(groups[t])
        assert not inside & set(np.delete(groups, t))


def test_bad_input() -> None:
    with pytest.raises(InputError, match=r"features \(n, d\)"):
        fit_ridge(np.zeros((3, 2)), np.zeros(4), 1.0)
    with pytest.raises(InputError, match="alpha"):
        fit_ridge(np.zeros((3, 2)), np.zeros(3), 0.0)
    with pytest.raises(InputError, match="two groups"):
        fit_ridge_cv(np.zeros((4, 2)), np.arange(4.0), groups=np.zeros(4))
