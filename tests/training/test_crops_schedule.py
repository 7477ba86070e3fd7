"""QPT-style crop pairs (IoU in [0.1, 0.3], fallback) and CONTRIQUE's schedule and weight-decay groups."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iqa.errors import InputError
from iqa.models.contrique import ContriqueModel
from iqa.training.crops import iou, pair_crops
from iqa.training.schedule import lr_at, param_groups


def test_iou_by_hand() -> None:
    assert iou((0, 0), (0, 0), 10) == 1
    assert iou((0, 0), (0, 5), 10) == pytest.approx(50 / 150)
    assert iou((0, 0), (10, 0), 10) == 0


def test_pairs_overlap_as_asked() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        a, b, ok = pair_crops(100, 120, 40, rng)
        assert ok and 0.1 <= iou(a, b, 40) <= 0.3
    assert pair_crops(40, 40, 40, rng) == ((0, 0), (0, 0), False)  # only one position: the recipe's fallback
    with pytest.raises(InputError, match="does not fit"):
        pair_crops(30, 50, 40, rng)


def test_warmup_then_cosine() -> None:
    total, base = 100, 0.6
    w = 10
    assert lr_at(0, total, base) == pytest.approx(base / (w + 1))
    assert lr_at(w, total, base) == pytest.approx(base)
    assert lr_at(55, total, base) == pytest.approx(base * 0.5 * (1 + math.cos(math.pi * 45 / 90)))
    # the release's chained ratio: lr_t = lr_{t-1} * (1 + cos(pi (t-W) / (T-W))) / (1 + cos(pi (t-1-W) / (T-W)))
    lr = lr_at(w + 1, total, base)
    for t in range(w + 2, total):
        lr *= (1 + math.cos(math.pi * (t - w) / (total - w))) / (1 + math.cos(math.pi * (t - 1 - w) / (total - w)))
        assert lr == pytest.approx(lr_at(t, total, base), rel=1e-9, abs=1e-15)


def test_weight_decay_groups_follow_the_name_rule() -> None:
    m = ContriqueModel("resnet18")
    decay, no_decay = param_groups(m, 1e-4)
    names = dict((id(p), n) for n, p in m.named_parameters())
    d = {names[id(p)] for p in decay["params"]}
    nd = {names[id(p)] for p in no_decay["params"]}
    assert (
        "encoder.1.weight" in d and "projector.1.weight" in d
    )  # stem and projector BNs are decayed, as in the release
    assert "encoder.4.0.bn1.weight" in nd and "encoder.4.0.conv1.weight" in d
    assert no_decay["weight_decay"] == 0 and decay["weight_decay"] == 1e-4 and len(d) + len(nd) == len(names)
