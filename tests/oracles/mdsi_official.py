"""Float64 NumPy transcription of the authors' MDSI.m (Ziaei Nafchi et al. 2016), line by line,
with MATLAB conv2 'same', round (halves away from zero) and complex powers of negative numbers."""

from __future__ import annotations

import math

import numpy as np

from tests.oracles.matlab_gmsd import conv2_same


def _gm(a: np.ndarray) -> np.ndarray:
    dx = np.array([[1, 0, -1]] * 3, dtype=np.float64) / 3
    return np.sqrt(conv2_same(a, dx) ** 2 + conv2_same(a, dx.T) ** 2)


def mdsi(ref: np.ndarray, dist: np.ndarray, comb: str = "sum") -> float:
    """ref, dist: (H, W, 3) RGB on 0-255."""
    c1, c2, c3 = 140.0, 55.0, 550.0
    rows, cols = ref.shape[:2]
    f = max(1, math.floor(min(rows, cols) / 256 + 0.5))
    k = np.ones((f, f)) / f**2
    r = [conv2_same(ref[..., c].astype(np.float64), k)[::f, ::f] for c in range(3)]
    d = [conv2_same(dist[..., c].astype(np.float64), k)[::f, ::f] for c in range(3)]
    l1 = 0.2989 * r[0] + 0.5870 * r[1] + 0.1140 * r[2]
    l2 = 0.2989 * d[0] + 0.5870 * d[1] + 0.1140 * d[2]
    fu = 0.5 * (l1 + l2)
    h1, h2 = 0.30 * r[0] + 0.04 * r[1] - 0.35 * r[2], 0.30 * d[0] + 0.04 * d[1] - 0.35 * d[2]
    m1, m2 = 0.34 * r[0] - 0.60 * r[1] + 0.17 * r[2], 0.34 * d[0] - 0.60 * d[1] + 0.17 * d[2]
    g_r, g_d, g_f = _gm(l1), _gm(l2), _gm(fu)
    gs12 = (2 * g_r * g_d + c1) / (g_r**2 + g_d**2 + c1)
    gs13 = (2 * g_r * g_f + c2) / (g_r**2 + g_f**2 + c2)
    gs23 = (2 * g_d * g_f + c2) / (g_d**2 + g_f**2 + c2)
    gs = gs12 + gs23 - gs13
    cs = (2 * (h1 * h2 + m1 * m2) + c3) / (h1**2 + h2**2 + m1**2 + m2**2 + c3)
    if comb == "sum":
        gcs = (0.6 * gs + 0.4 * cs).astype(complex)
    else:
        gcs = gs.astype(complex) ** 0.2 * cs.astype(complex) ** 0.1
    z = np.sqrt(np.sqrt(gcs.ravel()))
    return float(np.mean(np.abs(z - z.mean())) ** 0.25)
