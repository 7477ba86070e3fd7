"""The resampling "FID attack": reweight a pool of candidates so that FD to the reference drops
without generating a single new image (probing FID's perceptual null space).

Paper: Kynkaanniemi et al., "The Role of ImageNet Classes in Frechet Inception Distance", ICLR
2023; reference implementation kynkaat/role-of-imagenet-classes-in-fid (``resampling/``).

Per-candidate log-weights start at 0 and follow plain SGD on FD(reference, weighted pool
statistics) in a chosen feature mode:

- ``pre_logits``: the extractor's pooled features (what FID itself uses);
- ``logits``: the classifier logits;
- ``top_n`` / ``middle_n`` (``num_dims`` = n): binarised class indicators, 1 at the n top-ranked
  (or the n median-ranked) logits; only the columns non-zero in both sets are kept. ``top_n`` with
  n = 1 is top-1 class-histogram matching (the mean of one-hot vectors is the histogram).

Evaluation as the reference: draw as many candidates as the reference has images, with
replacement, p ∝ exp(w), compute FD in every evaluation space (the attacked extractor's features
and any independent ones), repeat and keep the minimum. ``select_top1_histogram`` is the
non-gradient variant: pick, for each class, as many candidates as the reference has images of it.

Differences from the reference code, on purpose: the weight gradient is closed-form and computed in
row chunks (memory O(chunk x dim + dim^2) for any pool size, float64 throughout) instead of autograd
on a GPU; eigenvalue square roots use the symmetric form; binarised modes need ``ridge`` (their
covariances are singular; the reference adds 1e-12 inside the square root instead).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import iqa.attacks._checkpoint as _checkpoint
from iqa.attacks._weighted import weight_gradient, weighted_stats
from iqa.errors import InputError
from iqa.stats import FrechetReference, frechet_distance

MODES = ("pre_logits", "logits", "top_n", "middle_n")
Progress = Callable[[int, int, float], None]


@dataclass
class Space:
    """An evaluation feature space: pool features (P, d) and reference features (R, d)."""

    pool: torch.Tensor
    ref: torch.Tensor


@dataclass
class ResampleResult:
    log_weights: np.ndarray
    history: list[dict]
    before: dict[str, float]
    after: dict[str, float]
    settings: dict = field(default_factory=dict)

    @property
    def probabilities(self) -> np.ndarray:
        w = self.log_weights - self.log_weights.max()
        p = np.exp(w)
        return p / p.sum()


def binarize(logits: torch.Tensor, mode: str, n: int) -> torch.Tensor:
    """0/1 indicators of the n top-ranked (``top_n``) or n median-ranked (``middle_n``) classes."""
    if n < 1 or n > logits.shape[1]:
        raise InputError(f"num_dims must be in [1, {logits.shape[1]}], got {n}")
    order = logits.argsort(dim=1, descending=True)
    start = 0 if mode == "top_n" else max(0, logits.shape[1] // 2 - n // 2)
    out = torch.zeros_like(logits, dtype=torch.float64)
    out.scatter_(1, order[:, start : start + n], 1.0)
    return out


def mode_features(
    pool: torch.Tensor,
    ref: torch.Tensor,
    mode: str,
    logits_fn: Callable[[torch.Tensor], torch.Tensor] | None,
    num_dims: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The features the weights are optimised on, for pool and reference."""
    if mode not in MODES:
        raise InputError(f"mode must be one of {MODES}, got {mode!r}")
    if mode == "pre_logits":
        return pool, ref
    if logits_fn is None:
        raise InputError(f"mode {mode!r} needs the extractor's classifier (logits_fn)")
    lp, lr = logits_fn(pool), logits_fn(ref)
    if mode == "logits":
        return lp, lr
    bp, br = binarize(lp, mode, num_dims), binarize(lr, mode, num_dims)
    keep = (bp.sum(0) > 0) & (br.sum(0) > 0)
    if int(keep.sum()) < 1:
        raise InputError("the pool and the reference share no class in this mode; nothing to match")
    return bp[:, keep], br[:, keep]


def sample_indices(p: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.choice(len(p), size=n, replace=True, p=p)


def fd_of(space: Space, idx: np.ndarray) -> float:
    """FD between the reference and the pool rows ``idx`` (a draw with repetitions) in one space."""
    x = space.pool[torch.as_tensor(idx, device=space.pool.device)].to(torch.float64)
    r = space.ref.to(x.device, torch.float64)
    return float(frechet_distance(r.mean(0), torch.cov(r.T), x.mean(0), torch.cov(x.T)))


def evaluate(spaces: dict[str, Space], p: np.ndarray, n: int, repeats: int, seed: int) -> dict[str, float]:
    """Min over ``repeats`` draws (with replacement, p) of FD in every space (the same draws for all)."""
    rng = np.random.default_rng(seed)
    best = {k: math.inf for k in spaces}
    for _ in range(repeats):
        idx = sample_indices(p, n, rng)
        for k, sp in spaces.items():
            best[k] = min(best[k], fd_of(sp, idx))
    return best


def _softmax(w: torch.Tensor) -> np.ndarray:
    p = torch.softmax(w, 0).cpu().numpy()
    return p / p.sum()


def _check(spaces: dict[str, Space], pool_n: int) -> None:
    for k, sp in spaces.items():
        if len(sp.pool) != pool_n:
            raise InputError(f"evaluation space {k!r} has {len(sp.pool)} pool rows, the attacked features {pool_n}")


class _Adam:
    """Adam (Kingma & Ba 2015; torch.optim.Adam's defaults) on a closed-form gradient: the step."""

    def __init__(self, lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.lr, self.b1, self.b2, self.eps, self.t = lr, betas[0], betas[1], eps, 0
        self.m: torch.Tensor | None = None
        self.v: torch.Tensor | None = None

    def __call__(self, g: torch.Tensor) -> torch.Tensor:
        self.t += 1
        self.m = g * (1 - self.b1) if self.m is None else self.m * self.b1 + g * (1 - self.b1)
        self.v = g * g * (1 - self.b2) if self.v is None else self.v * self.b2 + g * g * (1 - self.b2)
        m_hat, v_hat = self.m / (1 - self.b1**self.t), self.v / (1 - self.b2**self.t)
        return self.lr * m_hat / (v_hat.sqrt() + self.eps)


class _SGD:
    def __init__(self, lr: float) -> None:
        self.lr = lr

    def __call__(self, g: torch.Tensor) -> torch.Tensor:
        return self.lr * g


def resample_fid(
    pool: torch.Tensor,
    ref: torch.Tensor,
    *,
    mode: str = "pre_logits",
    logits_fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
    num_dims: int = 1,
    iterations: int = 300,
    lr: float = 10.0,
    optimizer: str = "sgd",
    ridge: float | None = None,
    eval_spaces: dict[str, Space] | None = None,
    eval_every: int = 100,
    eval_size: int | None = None,
    repeats: int = 3,
    seed: int = 0,
    chunk: int = 4096,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
) -> ResampleResult:
    """Optimise per-candidate log-weights so the weighted pool matches the reference (module doc).

    Args:
        pool: pooled features (P, d) of the candidates.
        ref: pooled features (R, d) of the reference images.
        mode: the feature mode the weights are optimised in (``MODES``, see the module docstring).
        logits_fn: features -> logits (the extractor's classifier) for the class modes.
        num_dims: n of the ``top_n`` / ``middle_n`` modes.
        iterations: optimisation steps.
        lr: step size; ``"sgd"`` with lr 10 is the reference's; its gradient scales with 1 / pool
            size, so small pools or the small losses of the class modes may need another lr, or
            ``"adam"`` (scale-free; try lr 0.05).
        optimizer: ``"sgd"`` or ``"adam"``.
        ridge: added to both covariances' diagonals, as a fraction of the reference's mean
            variance; default 0 for continuous modes with more samples than dimensions, else 1e-4.
        eval_spaces: extra spaces to evaluate (e.g. an independent extractor); the attacked
            extractor's own features are always evaluated as ``"fd"``.
        eval_every: iterations between evaluations (the first and last are always evaluated).
        eval_size: candidates drawn per evaluation (default: the reference size, as the reference).
        repeats: draws per evaluation; the minimum FD is kept, as the reference.
        seed: seed of the evaluation draws.
        chunk: pool rows per chunk of the closed-form gradient (memory O(chunk x d + d^2)).
        checkpoint: an ``.npz`` written atomically at every evaluation; if it exists (same
            settings), the run resumes from it and gives the same result as an uninterrupted one.
        progress: called as ``progress(iteration, iterations, loss)``.
    """
    # the pool keeps its dtype (float32 halves its memory); chunks are cast to float64 as used
    pool_f = pool if pool.is_floating_point() else pool.double()
    ref64 = ref.to(pool.device, torch.float64)  # everything runs on the pool's device
    fp, fr = mode_features(pool_f, ref64, mode, logits_fn, num_dims)
    singular = mode in ("top_n", "middle_n") or min(len(fp), len(fr)) <= fp.shape[1]
    ridge = (1e-4 if singular else 0.0) if ridge is None else ridge
    if ridge < 0:
        raise InputError(f"ridge must be >= 0, got {ridge}")
    spaces = {"fd": Space(pool_f, ref64), **(eval_spaces or {})}
    _check(spaces, len(pool_f))
    cov_r = torch.cov(fr.T)
    target = FrechetReference.build(fr.mean(0), cov_r, ridge * float(torch.trace(cov_r)) / fr.shape[1])
    n_eval = eval_size or len(ref)
    if optimizer not in ("sgd", "adam"):
        raise InputError(f"optimizer must be 'sgd' or 'adam', got {optimizer!r}")
    w = torch.zeros(len(fp), dtype=torch.float64, device=fp.device)
    step = _Adam(lr) if optimizer == "adam" else _SGD(lr)
    before = evaluate(spaces, _softmax(w), n_eval, repeats, seed)
    history: list[dict] = []
    key = {
        "mode": mode,
        "num_dims": num_dims,
        "lr": lr,
        "optimizer": optimizer,
        "ridge": ridge,
        "seed": seed,
        "pool": len(pool),
        "reference": len(ref),
        "eval_size": n_eval,
        "repeats": repeats,
        "eval_every": eval_every,
    }
    ckpt, start = (Path(checkpoint) if checkpoint else None), 1
    if ckpt is not None and ckpt.exists():
        done, w, state, history = _checkpoint.load(ckpt, key)
        w = w.to(fp.device)
        step.__dict__.update({k: v.to(fp.device) if isinstance(v, torch.Tensor) else v for k, v in state.items()})
        start = done + 1
    for it in range(start, iterations + 1):
        mean, cov, s = weighted_stats(fp, w, chunk)
        loss, g_mean, g_cov = target.gradients(mean, cov)
        w = w - step(weight_gradient(fp, w, mean, cov, s, g_mean, g_cov, chunk))
        row = {"iteration": it, "loss": float(loss)}
        if it == 1 or it % eval_every == 0 or it == iterations:
            row.update(evaluate(spaces, _softmax(w), n_eval, repeats, seed + it))
        history.append(row)
        if ckpt is not None and len(row) > 2:
            _checkpoint.save(ckpt, key, it, w, dict(step.__dict__), history)
        if progress:
            progress(it, iterations, float(loss))
    after = evaluate(spaces, _softmax(w), n_eval, repeats, seed + iterations + 1)
    settings = {
        "mode": mode,
        "num_dims": num_dims,
        "iterations": iterations,
        "lr": lr,
        "optimizer": optimizer,
        "ridge": ridge,
        "eval_size": n_eval,
        "repeats": repeats,
        "seed": seed,
        "pool": len(pool),
        "reference": len(ref),
        "dims": int(fp.shape[1]),
    }
    return ResampleResult(w.cpu().numpy(), history, before, after, settings)


def select_top1_histogram(pool_top1: np.ndarray, ref_top1: np.ndarray, seed: int = 0) -> np.ndarray:
    """Indices of pool candidates whose top-1 class histogram equals the reference's, class by class
    (with replacement where the pool has fewer candidates of a class; classes absent from the pool
    are skipped, so the selection can be smaller than the reference).
    """
    rng = np.random.default_rng(seed)
    out = []
    for c, need in zip(*np.unique(ref_top1, return_counts=True)):
        have = np.flatnonzero(pool_top1 == c)
        if len(have):
            out.append(rng.choice(have, size=need, replace=len(have) < need))
    if not out:
        raise InputError("no reference class occurs in the pool; top-1 selection is empty")
    return np.concatenate(out)
