"""CONTRIQUE's optimiser set-up (``modules/configure_optimizers.py``, ``modules/scheduler.py``).

SGD with momentum; weight decay on every parameter whose name does not contain ``"bn"`` (so, with
sequential names, the stem, shortcut and projector BatchNorms *are* decayed, as in the release);
the learning rate warms up linearly over the first 10 % of iterations, then follows a cosine to 0,
stepped every iteration: lr(t) = lr (t + 1) / (W + 1) for t <= W, else lr (1 + cos(pi (t - W) / (T - W))) / 2.
"""

from __future__ import annotations

import math

import torch


def lr_at(t: int, total: int, base: float, warmup: float = 0.1) -> float:
    """Learning rate at iteration ``t`` (0-based) of ``total``, ``warmup`` the fraction of warm-up iterations."""
    w = int(warmup * total)
    if t <= w:
        return base * (t + 1) / (w + 1)
    return base * 0.5 * (1 + math.cos(math.pi * (t - w) / max(1, total - w)))


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Two groups: names without "bn" get ``weight_decay``, the others none (the release's rule)."""
    decay = [p for n, p in model.named_parameters() if "bn" not in n and p.requires_grad]
    no_decay = [p for n, p in model.named_parameters() if "bn" in n and p.requires_grad]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
