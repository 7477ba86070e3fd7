"""Attack statistics computed once in evaluation (the reports only show them)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from iqa.evaluation.gains import (
    bitrate_change,
    effective_sample_size,
    gain_percent,
    per_image_gains,
    relative_change,
    summarize_compression,
    transfer_table,
)

ROWS = [
    {
        "image": "a",
        "bpp_plain": 1.0,
        "bpp_hacked": 1.5,
        "m_plain": 0.5,
        "m_hacked": 0.6,
        "d_plain": 2.0,
        "d_hacked": 1.0,
    },
    {
        "image": "b",
        "bpp_plain": 3.0,
        "bpp_hacked": 3.0,
        "m_plain": 0.8,
        "m_hacked": 0.4,
        "d_plain": 1.0,
        "d_hacked": 1.5,
    },
]


def test_transfer_table_arithmetic() -> None:
    t = {r["metric"]: r for r in transfer_table(ROWS, {"m": True, "d": False}, target="m")}
    assert t["m"]["target"] and t["m"]["mean_gain_pct"] == pytest.approx((20 - 50) / 2) and t["m"]["improved"] == 0.5
    assert t["d"]["mean_gain_pct"] == pytest.approx((50 - 50) / 2) and t["d"]["median_gain_pct"] == pytest.approx(0.0)
    assert t["m"]["plain"] == pytest.approx(0.65) and t["d"]["n"] == 2
    assert [r["metric"] for r in transfer_table(ROWS, {"d": False, "m": True}, target="m")] == ["m", "d"]
    assert bitrate_change(ROWS) == pytest.approx({"bpp_plain": 2.0, "bpp_hacked": 2.25, "change_pct": 12.5})
    assert all(math.isnan(v) for v in bitrate_change([]).values())


def test_gains_are_signed_by_direction() -> None:
    assert gain_percent(0.5, 0.6, True) == pytest.approx(20.0) and gain_percent(0.5, 0.6, False) == pytest.approx(-20.0)
    assert gain_percent(0.0, 0.0, True) == 0.0 and gain_percent(0.0, 1.0, True) == math.inf
    rows = [*ROWS, {"image": "c", "m_plain": math.nan, "m_hacked": 1.0}]  # no finite plain score: left out
    assert per_image_gains(rows, "m", True) == [(pytest.approx(-50.0), "b"), (pytest.approx(20.0), "a")]
    s = summarize_compression(ROWS, {"m": True, "d": False}, "m")
    assert s.transfer[0]["metric"] == "m" and s.bitrate["change_pct"] == pytest.approx(12.5)
    assert [name for _, name in s.target_gains] == ["b", "a"]


def test_resampling_statistics() -> None:
    assert effective_sample_size(np.full(8, 1 / 8)) == pytest.approx(8.0)  # uniform: every candidate counts
    assert effective_sample_size([1.0, 0.0, 0.0]) == pytest.approx(1.0)  # all mass on one
    assert relative_change({"fd": 2.0, "z": 0.0}, {"fd": 1.0, "z": 3.0}) == {"fd": -0.5}
