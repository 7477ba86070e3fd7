"""Seeded random state dicts of large CLIP towers (ViT-H/14: ~1B values) in any layout, fast.

Weights ~N(0, 0.02^2), LayerNorm gains 1 + ~N(0, 0.1^2) and ``logit_scale`` ln 100 (CLIP's clamp, the
released scale), so activations stay O(1) through 32 pre-norm blocks and parity is not vacuous. Values
are cut from one seeded normal pool of a prime length (1e6 + 3) at a different offset per tensor and
written in place: a billion fresh normal draws cost ~25-70 s on the CI-sized machine, this ~10 s; no
two rows of a matrix are alike (the pool's length is prime).
"""

from __future__ import annotations

import math

import torch

POOL = 1_000_003


def _fill(shape: torch.Size, rolled: torch.Tensor) -> torch.Tensor:
    out = torch.empty(shape)
    flat, n = out.view(-1), out.numel()
    k = n // POOL
    if k:
        flat[: k * POOL].view(k, POOL).copy_(rolled.expand(k, POOL))
    flat[k * POOL :].copy_(rolled[: n - k * POOL])
    return out


def seeded_state(model: torch.nn.Module, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random tensors with ``model``'s keys and shapes (a meta-device model is enough)."""
    pool = torch.randn(POOL, generator=torch.Generator().manual_seed(seed))
    out = {}
    for i, (k, v) in enumerate(model.state_dict().items()):
        if k == "logit_scale":
            out[k] = torch.full(v.shape, math.log(100.0))
            continue
        t = _fill(v.shape, pool.roll(-((i * 7919) % POOL)))
        is_gain = ("norm" in k or ".ln_" in k or k.startswith("ln_")) and k.endswith("weight")
        out[k] = t.mul_(0.1).add_(1.0) if is_gain else t.mul_(0.02)
    return out
