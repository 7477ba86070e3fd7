"""Chains of distortions: several types applied in sequence (KADIS-700k / QPT-style degradation).

Sampling scheme of :func:`sample_chain` (documented because QPT's exact space is unpublished):
1. the number of steps k is uniform in [min_ops, max_ops];
2. k types are drawn without replacement from the allowed ones, at most one per family when
   ``one_per_family`` (two blurs in a row mostly look like one stronger blur);
3. the order is the draw order (uniformly random);
4. each step gets a level uniform in 1-5 (or, with ``continuous=True``, a strength uniform in
   [0.2, 1]).
:func:`chain_label` encodes a chain as CONTRIQUE's 126 classes (25 types x 5 levels, multi-hot,
plus a last "pristine" class for the empty chain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from iqa.augment.bank import distort, get_distortion, list_distortions
from iqa.errors import InputError

N_CLASSES = 25 * 5 + 1


@dataclass(frozen=True)
class Step:
    """One distortion in a chain; ``strength`` in (0, 1] (level k is k/5)."""

    name: str
    strength: float

    @property
    def level(self) -> int:
        return max(1, min(5, round(self.strength * 5)))


def sample_chain(
    rng: np.random.Generator | int,
    *,
    min_ops: int = 1,
    max_ops: int = 3,
    types: list[str] | None = None,
    one_per_family: bool = True,
    continuous: bool = False,
) -> list[Step]:
    """Draw a chain by the scheme in the module docstring."""
    rng = np.random.default_rng(rng) if isinstance(rng, int) else rng
    pool = list(types) if types is not None else list_distortions()
    for t in pool:
        get_distortion(t)
    if not 0 <= min_ops <= max_ops:
        raise InputError(f"need 0 <= min_ops <= max_ops, got {min_ops}, {max_ops}")
    k = int(rng.integers(min_ops, max_ops + 1))
    chosen: list[str] = []
    for t in rng.permutation(pool):
        if len(chosen) == k:
            break
        if one_per_family and any(get_distortion(c).family == get_distortion(str(t)).family for c in chosen):
            continue
        chosen.append(str(t))
    if continuous:
        return [Step(t, float(rng.uniform(0.2, 1.0))) for t in chosen]
    return [Step(t, int(rng.integers(1, 6)) / 5) for t in chosen]


def apply_chain(x: torch.Tensor, chain: list[Step], *, seed: int = 0) -> torch.Tensor:
    """Apply the steps in order; step ``j`` uses seed ``seed * 31 + j`` (see ``distort``)."""
    for j, step in enumerate(chain):
        x = distort(x, step.name, strength=step.strength, seed=seed * 31 + j)
    return x


def chain_label(chain: list[Step]) -> np.ndarray:
    """Multi-hot (126,) vector: class (type - 1) * 5 + (level - 1); the last class is "no distortion"."""
    y = np.zeros(N_CLASSES, dtype=np.float32)
    if not chain:
        y[-1] = 1
    for s in chain:
        y[(get_distortion(s.name).kadid_id - 1) * 5 + s.level - 1] = 1
    return y
