"""kid as a stateful metric: batching, order of sets as torch-fidelity, identity."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.errors import InputError
from iqa.stats import kid
from tests.helpers.fake_extractor import TinyExtractor


def test_stateful_equals_functional(photos) -> None:  # noqa: ANN001
    x = torch.cat([photos, photos.flip(-1)] * 4)
    y = (x * 0.7 + 0.2).clamp(0, 1)
    m = iqa.create("kid", extractor=TinyExtractor(), subsets=10, subset_size=16)
    for i in range(0, len(x), 5):
        m.update(x[i : i + 5], real=True)
        m.update(y[i : i + 5], real=False)
    ext = TinyExtractor()
    fx, fy = ext(x).double(), ext(y).double()
    expected = kid(fy, fx, subsets=10, subset_size=16)  # generated first, as torch-fidelity's input1
    result = m.compute()
    assert (result.value, result.extras["std"]) == pytest.approx(expected, rel=1e-6)
    assert result.value > 0 and result.n_real == result.n_fake == len(x)


def test_same_set_is_near_zero(photos) -> None:  # noqa: ANN001
    # Subsets of the two sets are drawn independently, so KID(X, X) is an unbiased estimate of 0:
    # it fluctuates around 0 (it can be negative), far below KID of different sets.
    x = torch.cat([photos, photos.flip(-1)] * 8)
    same = iqa.create("kid", extractor=TinyExtractor(), subsets=20, subset_size=32)
    same.update(x, real=True)
    same.update(x, real=False)
    other = iqa.create("kid", extractor=TinyExtractor(), subsets=20, subset_size=32)
    other.update(x, real=True)
    other.update((x * 0.5 + 0.3).clamp(0, 1), real=False)
    assert abs(same.compute().value) < 0.2 * other.compute().value


def test_needs_both_sets() -> None:
    with pytest.raises(InputError, match="both sets"):
        iqa.create("kid", extractor=TinyExtractor()).compute()


def dgm_eval_polynomial_mmd(x: torch.Tensor, y: torch.Tensor) -> float:
    """dgm-eval metrics/mmd.py compute_polynomial_mmd (degree 3, gamma 1/dim, coef0 1), transcribed."""
    from sklearn.metrics.pairwise import polynomial_kernel

    a, b = x.numpy(), y.numpy()
    kxx, kyy, kxy = (
        polynomial_kernel(a, degree=3, coef0=1),
        polynomial_kernel(b, degree=3, coef0=1),
        polynomial_kernel(a, b, degree=3, coef0=1),
    )
    m = len(a)
    mmd2 = ((kxx.sum() - kxx.trace()) + (kyy.sum() - kyy.trace())) / (m * (m - 1))
    return float(mmd2 - 2 * kxy.sum() / (m * m))


def test_kd_dinov2_is_dgm_evals_kd_on_its_extractor(photos) -> None:  # noqa: ANN001
    """One subset of all samples (a permutation: MMD^2 does not depend on order) is dgm-eval's formula."""
    pytest.importorskip("sklearn")
    x = torch.cat([photos, photos.flip(-1)] * 3)
    y = (x * 0.7 + 0.2).clamp(0, 1)
    m = iqa.create("kd_dinov2", extractor=TinyExtractor(), subsets=1, subset_size=len(x))
    m.update(x, real=True)
    m.update(y, real=False)
    ext = TinyExtractor()
    with torch.no_grad():
        expected = dgm_eval_polynomial_mmd(ext(x).double(), ext(y).double())
    assert m.compute().value == pytest.approx(expected, rel=1e-9)  # float64 on both sides


def test_kd_dinov2_defaults_to_dinov2_vitl14_and_kid_is_unchanged() -> None:
    kd, k = iqa.create("kd_dinov2"), iqa.create("kid")
    assert (kd.extractor.cache_key(), kd.extractor.dim) == ("dinov2_vitl14:dgm_eval", 1024)
    assert k.extractor.cache_key() == "inception_v3_fid_tf"
    assert (kd.subsets, kd.subset_size, kd.seed) == (k.subsets, k.subset_size, k.seed) == (100, 1000, 2020)
    assert "Stein" in iqa.get_spec("kd_dinov2").paper
