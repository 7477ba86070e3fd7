"""Top-1 class histograms and top-k lists (hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iqa.errors import InputError
from iqa.explain.classes import top1_histograms, top_classes


def test_histograms_count_union_of_classes_and_total_variation() -> None:
    h = top1_histograms(np.array([3, 3, 5, 7]), np.array([3, 5, 5, 5, 9, 9]), names=[f"c{i}" for i in range(10)])
    counts = dict(zip(h.classes, zip(h.counts_a, h.counts_b)))
    assert counts == {3: (2, 1), 5: (1, 3), 7: (1, 0), 9: (0, 2)}
    # p_a = (.5, .25, .25, 0), p_b = (1/6, .5, 0, 1/3): TV = (1/3 + 1/4 + 1/4 + 1/3) / 2
    assert h.total_variation == pytest.approx(7 / 12)
    assert h.names[0] in {"c3", "c5"} and h.overlap == pytest.approx(5 / 12)


def test_weighted_histogram_and_identical_sets() -> None:
    h = top1_histograms(np.array([1, 2]), np.array([1, 1, 2, 2]), weights_b=np.array([1.0, 1.0, 0.0, 0.0]))
    assert h.total_variation == pytest.approx(0.5)  # all weight on class 1
    assert top1_histograms(np.array([4, 4, 6]), np.array([6, 4, 4])).total_variation == 0
    with pytest.raises(InputError):
        top1_histograms(np.array([]), np.array([1]))


def test_top_classes_are_sorted_and_named() -> None:
    probs = torch.tensor([[0.1, 0.7, 0.2]], dtype=torch.float64)
    assert top_classes(probs, ["a", "b", "c"], k=2) == [[("b", 0.7), ("c", 0.2)]]
    assert top_classes(probs, None, k=1) == [[("class 1", 0.7)]]
