"""MSU robustness scores: hand-computed cases and golden values from the reference's score_methods.py.

Golden values: the first five rows of ``test_results/ifgsm/maniqa.csv`` in
msu-video-group/MSU_Metrics_Robustness_Benchmark (MANIQA under I-FGSM; columns clear, attacked)
were scored with that repository's ``robustness_benchmark/score_methods.py`` functions (scikit-learn
1.9.1 MinMaxScaler, SciPy) on 2026-11-22; only the resulting numbers are kept here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from iqa.errors import InputError
from iqa.evaluation.robustness import (
    energy_distance_score,
    minmax_scaled,
    normalized_absolute_gain,
    normalized_relative_gain,
    relative_gain_classic,
    robustness_per_image,
    robustness_table,
    summarize,
    t_interval,
    wasserstein_score,
)

CLEAN = [0.4975638687610626, 0.5684884190559387, 0.3356485962867737, 0.510699450969696, 0.48586785793304443]
ATTACKED = [1.199542760848999, 1.1964014768600464, 1.5516899824142456, 1.8499687910079956, 1.066835641860962]
CSV_REL_GAIN = [2.410831726660275, 2.1045309574588216, 4.6229598442548, 3.6224217345355427, 2.1957320790871875]


def test_golden_values_of_the_reference_scores() -> None:
    np.testing.assert_allclose(robustness_per_image(CLEAN, ATTACKED),
                               [-0.63703638, -0.43084242, -0.71789118, -0.88370377, -0.5874266], atol=1e-8)  # fmt: skip
    np.testing.assert_allclose(
        normalized_absolute_gain(CLEAN, ATTACKED),
        [3.01485753, 2.69675973, 5.22265209, 5.75189125, 2.49513926],
        atol=1e-8,
    )
    np.testing.assert_allclose(
        normalized_relative_gain(CLEAN, ATTACKED),
        [1.7782643, 1.34837987, 5.22265209, 3.28340267, 1.51665319],
        atol=1e-8,
    )
    np.testing.assert_allclose(
        relative_gain_classic(CLEAN, ATTACKED), [1.41082889, 1.10452901, 3.62294905, 2.6224166, 1.19572962], atol=1e-8
    )
    assert wasserstein_score(CLEAN, ATTACKED) == pytest.approx(3.83625997208686, abs=1e-10)
    assert energy_distance_score(CLEAN, ATTACKED) == pytest.approx(2.452555020041344, abs=1e-10)
    # The CSV's own rel_gain column is attacked / clean, i.e. relative_gain_classic + 1 (float32 there).
    np.testing.assert_allclose(relative_gain_classic(CLEAN, ATTACKED) + 1, CSV_REL_GAIN, rtol=1e-5)


def test_hand_computed_case() -> None:
    # clean already spans [0, 1], so scaling is the identity:
    # R = log10(1 / 0.1), log10(0.5 / 1e-6) (unchanged score: only eps), log10(1 / 0.3)
    r = robustness_per_image([0.0, 0.5, 1.0], [0.1, 0.5, 0.7])
    assert r == pytest.approx(
        [math.log10(1 / (0.1 + 1e-6)), math.log10(0.5 / 1e-6), math.log10(1 / (0.3 + 1e-6))], abs=1e-9
    )
    assert normalized_absolute_gain([0.0, 0.5, 1.0], [0.1, 0.5, 0.7]) == pytest.approx([0.1, 0.0, -0.3])
    # a distance (lower is better): the same change is a loss
    assert normalized_absolute_gain([0.0, 0.5, 1.0], [0.1, 0.5, 0.7], higher_is_better=False) == pytest.approx(
        [-0.1, 0.0, 0.3]
    )
    s = summarize([0.0, 0.5, 1.0], [0.1, 0.5, 0.7])
    assert s.n == 3 and s.improved == pytest.approx(1 / 3) and s.robustness == pytest.approx(r.mean())


def test_scores_do_not_depend_on_the_metric_scale() -> None:
    rng = np.random.default_rng(0)
    c, a = rng.random(20), rng.random(20)
    for f in (robustness_per_image, normalized_absolute_gain, normalized_relative_gain):
        np.testing.assert_allclose(f(c, a), f(3 * c + 7, 3 * a + 7), atol=1e-9)
    assert wasserstein_score(c, a) == pytest.approx(wasserstein_score(5 * c - 2, 5 * a - 2))


def test_scaling_uses_the_clean_range_only() -> None:
    s, t = minmax_scaled([2.0, 4.0, 6.0], [10.0, 4.0, 0.0])
    assert s.tolist() == [0.0, 0.5, 1.0] and t.tolist() == [2.0, 0.5, -0.5]


def test_t_interval() -> None:
    mean, half = t_interval(np.array([1.0, 2.0, 3.0]))
    assert mean == 2.0 and half == pytest.approx(4.302652729911275 * 1.0 / math.sqrt(3))  # t(0.975, 2) = 4.3027
    assert math.isnan(t_interval(np.array([1.0]))[1])


def test_bad_input() -> None:
    with pytest.raises(InputError, match="same length"):
        robustness_per_image([1, 2], [1])
    with pytest.raises(InputError, match="NaN"):
        robustness_per_image([1, float("nan")], [1, 2])


def test_robustness_table_per_attack_and_metric() -> None:
    rows = [{"attack": a, "metric": m, "clean": c, "attacked": c + d}
            for a, d in (("fgsm", 0.1), ("hack", -0.2)) for m in ("ssim", "lpips") for c in (0.0, 0.5, 1.0)]  # fmt: skip
    rows.append({"attack": "fgsm", "metric": "ssim", "clean": math.nan, "attacked": 0.3})  # a failed image is left out
    table = robustness_table(rows, ["fgsm", "hack"], {"ssim": True, "lpips": False})
    assert [(t["attack"], t["metric"]) for t in table] == [("fgsm", "ssim"), ("fgsm", "lpips"), ("hack", "ssim"),
                                                           ("hack", "lpips")]  # fmt: skip
    first = table[0]
    expected = summarize([0.0, 0.5, 1.0], [0.1, 0.6, 1.1])
    assert first["n"] == 3 and first["robustness"] == pytest.approx(expected.robustness)
    assert table[1]["abs_gain"] == pytest.approx(-first["abs_gain"])  # lower is better: the same rise is a loss
    assert robustness_table(rows, ["pgd"], {"ssim": True}) == []
