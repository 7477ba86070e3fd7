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
