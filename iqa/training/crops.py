"""Pairs of overlapping crops for the QPT-style objective.

The unofficial QPT degradation recipe (spec section 4.4) cuts two crops from one degraded image
whose intersection-over-union lies in [0.1, 0.3]: close enough to share quality, far enough apart
not to share content. It tries 50 random positions and then falls back to the top-left corner for
both, as that recipe does; the fallback is reported so callers can count it.
"""

from __future__ import annotations

import numpy as np

from iqa.errors import InputError


def iou(a: tuple[int, int], b: tuple[int, int], size: int) -> float:
    """IoU of two ``size`` squares at top-left corners ``a`` and ``b`` (y, x)."""
    dy = max(0, size - abs(a[0] - b[0]))
    dx = max(0, size - abs(a[1] - b[1]))
    inter = dy * dx
    return inter / (2 * size * size - inter)


def pair_crops(h: int, w: int, size: int, rng: np.random.Generator, lo: float = 0.1, hi: float = 0.3,
               tries: int = 50) -> tuple[tuple[int, int], tuple[int, int], bool]:  # fmt: skip
    """Top-left corners (y, x) of two crops with IoU in [lo, hi], and whether that was found."""
    if h < size or w < size:
        raise InputError(f"crop {size} does not fit an image of {h}x{w}")
    for _ in range(tries):
        a = (int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1)))
        b = (int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1)))
        if lo <= iou(a, b, size) <= hi:
            return a, b, True
    return (0, 0), (0, 0), False
