"""Float64 NumPy transcription of the authors' GMSD.m (Xue et al. 2014), with MATLAB's conv2
'same' semantics reproduced explicitly (for even kernels SciPy's 'same' centres differently)."""

from __future__ import annotations

import numpy as np
from scipy.signal import convolve2d


def conv2_same(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    full = convolve2d(a, k, mode="full")
    r0, c0 = k.shape[0] // 2, k.shape[1] // 2  # MATLAB keeps full(floor(kh/2)+1 : ..., ...) (1-based)
    return full[r0 : r0 + a.shape[0], c0 : c0 + a.shape[1]]


def gmsd(y1: np.ndarray, y2: np.ndarray) -> float:
    """y1, y2: grey images on 0-255, float64."""
    t = 170.0
    dx = np.array([[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float64) / 3
    dy = dx.T
    ave = np.ones((2, 2)) / 4
    a1, a2 = conv2_same(y1, ave)[::2, ::2], conv2_same(y2, ave)[::2, ::2]
    g1 = np.sqrt(conv2_same(a1, dx) ** 2 + conv2_same(a1, dy) ** 2)
    g2 = np.sqrt(conv2_same(a2, dx) ** 2 + conv2_same(a2, dy) ** 2)
    q = (2 * g1 * g2 + t) / (g1**2 + g2**2 + t)
    return float(np.std(q, ddof=1))


def rgb2gray(rgb: np.ndarray) -> np.ndarray:
    """MATLAB rgb2gray weights on an (H, W, 3) array."""
    return rgb @ np.array([0.2989, 0.5870, 0.1140])
