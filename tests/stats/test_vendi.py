"""iqa.stats.vendi_score against the vendi-score package on the same features."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from iqa.errors import InputError
from iqa.stats import vendi_score


def _x(n: int, d: int, seed: int = 0) -> np.ndarray:
    # an offset makes the cosine kernel far from the identity (a score well below n)
    return np.random.default_rng(seed).standard_normal((n, d)) + 0.5


@pytest.mark.parametrize(("n", "d"), [(40, 64), (300, 24)])
def test_matches_embedding_vendi_score(n: int, d: int) -> None:
    """embedding_vendi_score on given embeddings is score_X (n < d) or score_dual (n >= d): 1e-9 relative
    (eigvalsh in scipy vs torch on the same float64 matrix)."""
    vendi = pytest.importorskip("vendi_score.vendi")
    x = _x(n, d)
    ref = vendi.score_X(x) if n < d else vendi.score_dual(x)
    ours = vendi_score(torch.from_numpy(x))
    assert ours == pytest.approx(ref, rel=1e-9)
    assert 1 < ours < min(n, d)
    assert vendi_score(torch.from_numpy(x).float()) == pytest.approx(ref, rel=1e-5)  # float32 features


@pytest.mark.parametrize("q", [0.5, 2.0, math.inf])
def test_other_orders(q: float) -> None:
    """q != 1: score_dual honours q (n >= d); score_X ignores it (it calls score_K(K, q=1)), so for
    n < d the reference is score_K on the normalised Gram matrix with q given."""
    vendi = pytest.importorskip("vendi_score.vendi")
    q_ref = "inf" if math.isinf(q) else q
    x = _x(300, 24, seed=1)
    assert vendi_score(torch.from_numpy(x), q=q) == pytest.approx(vendi.score_dual(x, q=q_ref), rel=1e-9)
    x = _x(40, 64, seed=2)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    assert vendi_score(torch.from_numpy(x), q=q) == pytest.approx(vendi.score_K(xn @ xn.T, q=q_ref), rel=1e-9)


def test_bounds_and_errors() -> None:
    assert vendi_score(torch.ones(7, 5)) == pytest.approx(1.0)  # all alike: one effective sample
    assert vendi_score(torch.eye(6) * 3) == pytest.approx(6.0)  # orthogonal: every sample distinct
    with pytest.raises(InputError, match="zero"):
        vendi_score(torch.zeros(3, 4))
    with pytest.raises(InputError, match="q must be"):
        vendi_score(torch.eye(3), q=-1)
    with pytest.raises(InputError, match="shape|tensor"):
        vendi_score(torch.ones(3))
