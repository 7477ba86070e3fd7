"""JNDMix's random choices, read back from its outputs: application probability, mixing weight, sign.

Input: flat mid-grey images (0.5), whose wu2017 JND map is one known value J everywhere (no
gradient: J = the luminance adaptation 3/128 (bg - 127) + 3 with bg = 0.9999 x 127.5, the grey
level of iqa.augment.jnd.gray255, whose weights sum to 0.9999), so an output is
x + lambda S J / 255 with no clipping: an image was augmented iff it changed, and
lambda = |out - x| / (J / 255). Many seeded draws are tested at significance ALPHA:
- applied: exact binomial test of the count against p;
- lambda: Kolmogorov-Smirnov test against U(low, high);
- sign: binomial test of the + signs against 1/2.
The tests are seeded, hence deterministic; ALPHA is the false-alarm rate the choice of seed had.
Each test is shown to fail for a broken variant (monkeypatched ``JNDMix._draws`` or sign): a fixed
weight, a skewed weight, a wrong probability, a biased sign.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import iqa.augment.jndmix as jndmix_module
from iqa.augment import JNDMix, jnd_map

ALPHA = 1e-3
P, LOW, HIGH = 0.3, 0.2, 0.9  # p != 1/2 also catches a reversed comparison (rand > p)
# 2000 images, ~600 augmented: a probability off by 0.05 is 4.9 standard errors away (detected at
# ALPHA with 94 % power); a sign bias of 0.01 over ~65k signs is 5.1 standard errors away
CALLS, BATCH = 4, 500
GREY = 0.5


@pytest.fixture(autouse=True)
def one_thread():  # noqa: ANN201
    """One torch thread: JNDMix convolves each 6x6 image alone, where threads only add overhead (10x)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def observe(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(applied per image, lambda per applied image, signs of every applied pixel) over CALLS x BATCH draws."""
    x = torch.full((BATCH, 3, 6, 6), GREY)
    j = float(jnd_map(x[:1], "wu2017", padding="replicate")[0, 0, 0, 0]) / 255
    t = JNDMix(p=P, strength=(LOW, HIGH), generator=torch.Generator().manual_seed(seed))
    applied, lam, signs = [], [], []
    for _ in range(CALLS):
        d = (t(x) - x).double().flatten(1)
        hit = (d != 0).any(1)
        applied.append(hit.numpy())
        lam.append((d[hit].abs().mean(1) / j).numpy())
        signs.append(torch.sign(d[hit]).flatten().numpy())
    return np.concatenate(applied), np.concatenate(lam), np.concatenate(signs)


def pvalues(seed: int = 0) -> dict[str, float]:
    applied, lam, signs = observe(seed)
    return {
        "applied": stats.binomtest(int(applied.sum()), len(applied), P).pvalue,
        "lambda": stats.kstest(lam, "uniform", args=(LOW, HIGH - LOW)).pvalue,
        "sign": stats.binomtest(int((signs > 0).sum()), len(signs), 0.5).pvalue,
    }


def test_grey_input_reads_back_lambda_exactly() -> None:
    # the read-back itself: a fixed strength comes back as itself (float32 arithmetic: 1e-5)
    x = torch.full((3, 3, 6, 6), GREY)
    d = JNDMix(p=1.0, strength=0.37, generator=torch.Generator().manual_seed(0))(x) - x
    j = 3 / 128 * (0.9999 * GREY * 255 - 127) + 3  # the map by hand (bg > 127: the bright branch only)
    assert d.abs().double().div(j / 255).numpy() == pytest.approx(0.37, abs=1e-5)


def test_probability_weight_and_sign_follow_their_distributions() -> None:
    p = pvalues()
    assert min(p.values()) > ALPHA, p


def _fixed_weight(self: JNDMix, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    apply = torch.rand(n, generator=self.generator) < self.p
    return apply, torch.full((n,), (self.lo + self.hi) / 2, dtype=torch.float64)


def _skewed_weight(self: JNDMix, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    apply = torch.rand(n, generator=self.generator) < self.p
    u = torch.rand(n, generator=self.generator, dtype=torch.float64)
    return apply, self.lo + (self.hi - self.lo) * u.sqrt()


def _wrong_probability(self: JNDMix, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    apply = torch.rand(n, generator=self.generator) < self.p + 0.05
    return apply, self.lo + (self.hi - self.lo) * torch.rand(n, generator=self.generator, dtype=torch.float64)


@pytest.mark.parametrize(
    ("variant", "caught_by"),
    [(_fixed_weight, "lambda"), (_skewed_weight, "lambda"), (_wrong_probability, "applied")],
)
def test_a_broken_draw_fails_the_test(monkeypatch: pytest.MonkeyPatch, variant, caught_by: str) -> None:  # noqa: ANN001
    monkeypatch.setattr(JNDMix, "_draws", variant)
    assert pvalues()[caught_by] < ALPHA


def test_a_biased_sign_fails_the_test(monkeypatch: pytest.MonkeyPatch) -> None:
    real = jndmix_module.jnd_noise

    def biased(x: torch.Tensor, **kw) -> torch.Tensor:  # noqa: ANN003
        noise = real(x, **kw)
        return noise.abs() * torch.where(torch.rand(noise.shape) < 0.51, 1.0, -1.0)  # P(+) = 0.51

    monkeypatch.setattr(jndmix_module, "jnd_noise", biased)
    assert pvalues()["sign"] < ALPHA
