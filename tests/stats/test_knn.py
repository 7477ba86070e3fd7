"""iqa.stats.knn: precision/recall and density/coverage against prdc and torch-fidelity, exactness, chunking."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from iqa.errors import InputError
from iqa.stats import density_coverage, knn_metrics, knn_radii, prdc, precision_recall


def _features(n: int, m: int, dim: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Real N(0, 1) and fake N(0.1, 1.1^2): overlapping sets, all four metrics strictly inside (0, 1)."""
    g = np.random.default_rng(seed)
    return torch.from_numpy(g.standard_normal((n, dim))), torch.from_numpy(g.standard_normal((m, dim)) * 1.1 + 0.1)


def _brute_d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """float64 distances without the norm expansion (no cancellation): the exact decisions' oracle."""
    return torch.cdist(a.double(), b.double(), compute_mode="donot_use_mm_for_euclid_dist")


def _brute(real: torch.Tensor, fake: torch.Tensor, k: int, closed: bool = True) -> dict[str, float]:
    """The four definitions written out on whole float64 matrices (the papers' formulas)."""
    rr = _brute_d(real, real).sort(1).values[:, k]  # k-th other (the self-distance 0 comes first)
    rf = _brute_d(fake, fake).sort(1).values[:, k]
    d = _brute_d(real, fake)
    inside = d <= rr[:, None] if closed else d < rr[:, None]
    in_fake = d <= rf[None, :] if closed else d < rf[None, :]
    return {
        "precision": float(inside.any(0).double().mean()),
        "recall": float(in_fake.any(1).double().mean()),
        "density": float(inside.sum(0).double().mean() / k),
        "coverage": float(inside.any(1).double().mean()),
    }


@pytest.mark.parametrize(("dtype", "k"), [(torch.float64, 5), (torch.float32, 3)])
def test_prdc_matches_the_prdc_package(dtype: torch.dtype, k: int, capsys) -> None:  # noqa: ANN001
    ref_pkg = pytest.importorskip("prdc")
    real, fake = _features(400, 300)
    real, fake = real.to(dtype), fake.to(dtype)
    ref = ref_pkg.compute_prdc(real.numpy(), fake.numpy(), nearest_k=k)  # prints the sample counts
    capsys.readouterr()
    ours = prdc(real=real, fake=fake, k=k, ball="open")  # prdc compares with <
    assert 0 < ours["precision"] < 1 and 0 < ours["recall"] < 1 and 0 < ours["coverage"] < 1
    # counts over 300 / 400 samples: equal counts agree to rounding of the mean
    assert ours == pytest.approx({key: float(v) for key, v in ref.items()}, abs=1e-12)
    # on continuous features the closed ball (the default) gives the same counts
    assert prdc(real=real, fake=fake, k=k) == ours


def test_precision_recall_match_torch_fidelity() -> None:
    metric_prc = pytest.importorskip("torch_fidelity.metric_prc")
    real, fake = _features(400, 300, seed=1)
    # torch-fidelity 0.4.0: input1 (features_1) is the generated set, input2 the real one; float32 as it extracts
    ref = metric_prc.prc_features_to_metric(
        fake.float(), real.float(), prc_neighborhood=3, prc_batch_size=10000, save_cpu_ram=False, verbose=False
    )
    ours = precision_recall(real=real.float(), fake=fake.float(), k=3)
    # torch-fidelity averages in float32 (.float().mean()): equal counts agree to ~1e-7
    assert ours["precision"] == pytest.approx(ref["precision"], abs=1e-6)
    assert ours["recall"] == pytest.approx(ref["recall"], abs=1e-6)
    assert 0.1 < ours["precision"] < 0.95 and 0.1 < ours["recall"] < 0.95  # not a degenerate case


def test_decisions_are_exact_where_float32_is_not() -> None:
    """A large common offset makes float32 |a|^2+|b|^2-2ab useless (norms ~6e7, distances ~1e2):
    the bound sends every pair to the exact route, so the result is the exact float64 one."""
    real, fake = _features(150, 120, dim=16, seed=2)
    real32, fake32 = (real + 1000).float(), (fake + 1000).float()
    assert prdc(real=real32, fake=fake32, k=3) == pytest.approx(_brute(real32, fake32, 3), abs=1e-12)
    # the same float64 differences summed in another order: 1e-14
    assert torch.allclose(knn_radii(real32, k=4), _brute_d(real32, real32).sort(1).values[:, 4], rtol=1e-14, atol=0)


def test_radii_exact_with_duplicates() -> None:
    """Ten copies of each sample defeat the spare candidates: the whole-row fallback gives the exact radii."""
    real, _ = _features(30, 1, dim=8, seed=3)
    x = torch.cat([real] * 10)
    for k in (3, 9, 10):
        brute = _brute_d(x, x).sort(1).values[:, k]
        assert torch.allclose(knn_radii(x, k=k), brute, rtol=1e-14, atol=0)  # summation order only
    assert torch.equal(knn_radii(x, k=9), torch.zeros(len(x), dtype=torch.float64))  # 9 other copies at 0


def test_ball_boundary_closed_and_open() -> None:
    """Points on a line at integer positions: distances are exact, so ties are exact.

    real = 0, 1, 2, 3 with k = 1: every radius is 1. fake = 4 is at distance exactly 1 from real 3:
    inside the closed ball (<=, the authors' precision code, torch-fidelity), outside the open one
    (<, prdc). fake = 0.5 is inside the balls of 0 and 1 either way.
    """
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[4.0], [0.5]])
    closed = density_coverage(real=real, fake=fake, k=1)
    opened = density_coverage(real=real, fake=fake, k=1, ball="open")
    assert closed == {"density": pytest.approx((1 + 2) / 2), "coverage": pytest.approx(3 / 4)}  # 4 in ball of 3
    assert opened == {"density": pytest.approx((0 + 2) / 2), "coverage": pytest.approx(2 / 4)}
    assert precision_recall(real=real, fake=torch.tensor([[4.0], [9.0]]), k=1)["precision"] == 0.5
    assert precision_recall(real=real, fake=torch.tensor([[4.0], [9.0]]), k=1, ball="open")["precision"] == 0.0


def test_a_set_against_itself() -> None:
    """Identical samples are exactly 0 apart (the exact route), so precision, recall and coverage are 1
    and density is (k + 1) / k (each sample is in its own ball and in its k neighbours')."""
    real, _ = _features(200, 1, seed=4)
    out = prdc(real=real, fake=real.flip(0), k=5)
    assert out == {"precision": 1.0, "recall": 1.0, "density": pytest.approx(6 / 5), "coverage": 1.0}
    assert prdc(real=real, fake=real, k=5, ball="open")["density"] == pytest.approx(1.0)  # k-th neighbour out


def test_chunking_does_not_change_anything() -> None:
    real, fake = _features(230, 170, dim=32, seed=5)
    whole = prdc(real=real, fake=fake, k=4)
    tiny = prdc(real=real, fake=fake, k=4, memory_budget=1200)  # 10 x 10 tiles, one row per cross chunk
    assert tiny == whole
    assert torch.equal(knn_radii(real, k=4, memory_budget=1200), knn_radii(real, k=4))
    assert whole == pytest.approx(_brute(real, fake, 4), abs=1e-12)


def test_k_must_be_below_the_set_size() -> None:
    real, fake = _features(5, 8, dim=4)
    with pytest.raises(InputError, match=r"k=5 .*real set \(it has 5\).*at least 6"):
        precision_recall(real=real, fake=fake, k=5)
    with pytest.raises(InputError, match=r"k=8 .*fake \(generated\) set \(it has 8\)"):
        knn_metrics(real=torch.cat([real] * 2), fake=fake, k=8, which=("recall",))
    # density and coverage use only the real balls: a small generated set is fine
    assert density_coverage(real=fake, fake=real[:2], k=5)["coverage"] >= 0
    with pytest.raises(InputError, match="positive integer"):
        prdc(real=real, fake=fake, k=0)


def test_sets_are_keyword_only_and_checked() -> None:
    for fn in (prdc, precision_recall, density_coverage, knn_metrics):
        params = inspect.signature(fn).parameters
        assert params["real"].kind is params["fake"].kind is inspect.Parameter.KEYWORD_ONLY
    real, fake = _features(20, 20, dim=4)
    with pytest.raises(TypeError):
        prdc(real, fake)  # type: ignore[misc]
    with pytest.raises(InputError, match="dimension"):
        prdc(real=real, fake=fake[:, :3])
    with pytest.raises(InputError, match="non-finite"):
        prdc(real=real, fake=fake * float("nan"))
    with pytest.raises(InputError, match="which"):
        knn_metrics(real=real, fake=fake, k=3, which=("fid",))  # type: ignore[arg-type]
    # swapping the sets changes the answer: precision and recall trade places
    a = precision_recall(real=real, fake=fake * 2)
    b = precision_recall(real=fake * 2, fake=real)
    assert (a["precision"], a["recall"]) == (b["recall"], b["precision"])
