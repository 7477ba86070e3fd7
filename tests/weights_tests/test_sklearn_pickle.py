"""The restricted reader of pickled sklearn Ridge regressors (CONTRIQUE's models/*.save): it reads what
sklearn writes under every pickle protocol and refuses any other code without running it."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from iqa.errors import WeightsError
from iqa.weights.sklearn_pickle import read_sklearn_ridge


@pytest.mark.parametrize("protocol", [0, 2, 3, 4, 5])
def test_reads_a_real_sklearn_ridge(tmp_path, protocol: int) -> None:  # noqa: ANN001
    rng = np.random.default_rng(protocol)
    x = rng.normal(size=(40, 64)).astype(np.float32)
    reg = Ridge(alpha=0.25).fit(x, rng.normal(size=40).astype(np.float32))
    path = tmp_path / "CLIVE.save"
    path.write_bytes(pickle.dumps(reg, protocol=protocol))
    r = read_sklearn_ridge(path)
    assert r["alpha"] == 0.25 and r["fit_intercept"] and r["coef"].shape == (64,)
    np.testing.assert_allclose(x.astype(np.float64) @ r["coef"] + r["intercept"], reg.predict(x), rtol=0, atol=1e-5)


class _Evil:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.mkdir, (self.marker,))


def test_code_in_a_pickle_is_refused_and_never_runs(tmp_path) -> None:  # noqa: ANN001
    marker = tmp_path / "ran"
    path = tmp_path / "Koniq.save"
    path.write_bytes(pickle.dumps(_Evil(str(marker))))
    with pytest.raises(WeightsError, match=r"Koniq\.save.*refused global posix\.mkdir"):
        read_sklearn_ridge(path)
    assert not marker.exists()


def test_other_objects_and_junk_are_clear_errors(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "a.save").write_bytes(pickle.dumps({"coef_": [1, 2]}))
    with pytest.raises(WeightsError, match="does not hold a fitted sklearn Ridge"):
        read_sklearn_ridge(tmp_path / "a.save")
    (tmp_path / "b.save").write_bytes(b"\x00garbage")
    with pytest.raises(WeightsError, match="b.save: not a readable pickled sklearn Ridge"):
        read_sklearn_ridge(tmp_path / "b.save")
