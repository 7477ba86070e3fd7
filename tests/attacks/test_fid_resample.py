"""Resampling attack: closed-form weight gradients, class binarisation, top-1 selection, and the
attack itself on synthetic features where the answer is known."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from iqa.attacks import Space, resample_fid, select_top1_histogram
from iqa.attacks._weighted import weight_gradient, weighted_stats
from iqa.attacks.fid_resample import binarize, mode_features
from iqa.errors import InputError
from iqa.stats import FrechetReference


def _data(p: int = 400, d: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(p, d, generator=g, dtype=torch.float64)
    ref = torch.randn(300, d, generator=g, dtype=torch.float64) * 1.2 + 0.4
    return f, ref, g


def test_uniform_weights_give_the_sample_statistics_and_chunks_do_not_matter() -> None:
    f, _, g = _data()
    mean, cov, s = weighted_stats(f, torch.zeros(len(f)), chunk=37)
    torch.testing.assert_close(mean, f.mean(0), rtol=0, atol=1e-14)
    torch.testing.assert_close(cov, torch.cov(f.T), rtol=0, atol=1e-14)
    assert float(s) == len(f)
    w = torch.randn(len(f), generator=g, dtype=torch.float64)
    a, b = weighted_stats(f, w, chunk=37), weighted_stats(f, w, chunk=10_000)
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-13)


def test_closed_form_weight_gradient_matches_autograd() -> None:
    f, ref, g = _data()
    target = FrechetReference.build(ref.mean(0), torch.cov(ref.T))
    w = (0.3 * torch.randn(len(f), generator=g, dtype=torch.float64)).requires_grad_(True)
    mean, cov, s = weighted_stats(f, w, chunk=64)
    (auto,) = torch.autograd.grad(target.distance(mean, cov), w)
    _, g_mean, g_cov = target.gradients(mean.detach(), cov.detach())
    ours = weight_gradient(f, w.detach(), mean.detach(), cov.detach(), s.detach(), g_mean, g_cov, chunk=64)
    assert float((ours - auto).norm() / auto.norm()) < 1e-9


def test_binarize_top_and_middle_classes() -> None:
    logits = torch.tensor([[0.0, 5.0, 1.0, 3.0, 2.0]], dtype=torch.float64)
    assert binarize(logits, "top_n", 1).tolist() == [[0, 1, 0, 0, 0]]
    assert binarize(logits, "top_n", 2).tolist() == [[0, 1, 0, 1, 0]]
    # ranks: 1 (5.0), 3, 4, 2, 0 -> the median-ranked class is 4 (value 2.0)
    assert binarize(logits, "middle_n", 1).tolist() == [[0, 0, 0, 0, 1]]
    with pytest.raises(InputError, match="num_dims"):
        binarize(logits, "top_n", 0)


def test_class_modes_keep_only_shared_columns() -> None:
    pool = torch.eye(4, dtype=torch.float64)[[0, 1, 2, 2]]
    ref = torch.eye(4, dtype=torch.float64)[[1, 2, 3]]
    fp, fr = mode_features(pool, ref, "top_n", lambda x: x, 1)
    assert fp.shape == (4, 2) and fr.shape == (3, 2)  # classes 1 and 2 occur in both sets
    with pytest.raises(InputError, match="logits_fn"):
        mode_features(pool, ref, "logits", None, 1)


def test_top1_selection_reproduces_the_reference_histogram() -> None:
    rng = np.random.default_rng(0)
    pool = rng.integers(0, 5, 500)
    ref = np.array([0] * 30 + [3] * 10 + [4] * 5)
    idx = select_top1_histogram(pool, ref, seed=1)
    assert sorted(np.bincount(pool[idx], minlength=5).tolist()) == sorted([30, 10, 5, 0, 0])
    assert np.bincount(pool[idx], minlength=5)[[0, 3, 4]].tolist() == [30, 10, 5]


@pytest.mark.parametrize("optimizer,lr", [("adam", 0.05), ("sgd", 100.0)])
def test_attack_finds_the_matching_cluster_and_an_independent_space_does_not_move(optimizer: str, lr: float) -> None:
    """Pool = half cluster A, half cluster B; reference = cluster A. The weights must move to A,
    FD must fall by > 80 %; a space of features independent of the cluster must stay within 30 %."""
    g = torch.Generator().manual_seed(0)
    d = 6
    a = torch.randn(300, d, generator=g, dtype=torch.float64)
    b = torch.randn(300, d, generator=g, dtype=torch.float64) * 0.7 + 2.0
    pool, ref = torch.cat([a, b]), torch.randn(400, d, generator=g, dtype=torch.float64)
    indep = Space(
        torch.randn(600, 4, generator=g, dtype=torch.float64), torch.randn(400, 4, generator=g, dtype=torch.float64)
    )
    res = resample_fid(
        pool,
        ref,
        iterations=150,
        optimizer=optimizer,
        lr=lr,
        eval_spaces={"indep": indep},
        eval_every=50,
        repeats=2,
        seed=0,
    )
    assert res.after["fd"] < 0.2 * res.before["fd"], (res.before, res.after)
    assert res.probabilities[:300].sum() > 0.9
    assert abs(res.after["indep"] - res.before["indep"]) < 0.3 * res.before["indep"] + 0.05
    assert res.history[0]["iteration"] == 1 and "fd" in res.history[0] and len(res.history) == 150


def test_pool_of_20k_vectors_runs_in_bounded_chunks() -> None:
    """Memory stays O(chunk x dim + dim^2): a 20k pool with chunk 1000 gives the same step as one chunk."""
    g = torch.Generator().manual_seed(1)
    f = torch.randn(20_000, 16, generator=g).to(torch.float32)
    ref = torch.randn(1000, 16, generator=g, dtype=torch.float64) + 0.1
    target = FrechetReference.build(ref.mean(0), torch.cov(ref.T))
    w = torch.zeros(len(f), dtype=torch.float64)
    grads = []
    for chunk in (1000, 20_000):
        mean, cov, s = weighted_stats(f, w, chunk)
        _, gm, gc = target.gradients(mean, cov)
        grads.append(weight_gradient(f, w, mean, cov, s, gm, gc, chunk))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-9, atol=1e-15)


def test_bad_arguments() -> None:
    f, ref, _ = _data()
    with pytest.raises(InputError, match="mode"):
        resample_fid(f, ref, mode="pixels")
    with pytest.raises(InputError, match="optimizer"):
        resample_fid(f, ref, optimizer="lbfgs", iterations=1)
    with pytest.raises(InputError, match="pool rows"):
        resample_fid(f, ref, iterations=1, eval_spaces={"x": Space(f[:10], ref)})


@pytest.mark.parametrize("optimizer,lr", [("adam", 0.05), ("sgd", 50.0)])
def test_a_resumed_run_equals_an_uninterrupted_one(tmp_path, optimizer: str, lr: float) -> None:
    f, ref, _ = _data()
    kw = dict(optimizer=optimizer, lr=lr, eval_every=2, repeats=1, seed=3)
    straight = resample_fid(f, ref, iterations=6, **kw)
    ckpt = tmp_path / "ckpt.npz"
    resample_fid(f, ref, iterations=4, checkpoint=ckpt, **kw)  # "killed" after iteration 4
    resumed = resample_fid(f, ref, iterations=6, checkpoint=ckpt, **kw)
    np.testing.assert_array_equal(resumed.log_weights, straight.log_weights)
    assert resumed.history == straight.history and resumed.after == straight.after
    with pytest.raises(InputError, match="other settings.*lr"):
        resample_fid(f, ref, iterations=6, checkpoint=ckpt, **{**kw, "lr": lr * 2})
