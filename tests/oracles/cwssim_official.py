"""Float64 NumPy transcription of the authors' cwssim_index.m (Sampat et al. 2009), with the pyramid
from pyrtools' SteerablePyramidFreq(is_complex=True) (the Python port of matlabPyrTools' buildSCFpyr)."""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate2d


def _fspecial_gaussian(shape: tuple[int, int], sigma: float) -> np.ndarray:
    m, n = (shape[0] - 1) / 2, (shape[1] - 1) / 2
    y, x = np.ogrid[-m : m + 1, -n : n + 1]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


def cwssim_index(
    img1: np.ndarray, img2: np.ndarray, level: int = 6, orient: int = 16, guardb: int = 0, k: float = 0.0
) -> float:
    import pyrtools as pt

    p1 = pt.pyramids.SteerablePyramidFreq(img1, height=level, order=orient - 1, is_complex=True).pyr_coeffs
    p2 = pt.pyramids.SteerablePyramidFreq(img2, height=level, order=orient - 1, is_complex=True).pyr_coeffs
    winsize = 7
    window = np.ones((winsize, winsize)) / winsize**2
    gb = guardb // 2 ** (level - 1)
    s = np.array(p1[(level - 1, 0)].shape)
    w = _fspecial_gaussian(tuple(s - winsize + 1 - 2 * gb), s[0] / 4)
    scores = []
    for i in range(orient):
        b1, b2 = p1[(level - 1, i)], p2[(level - 1, i)]
        if gb:
            b1, b2 = b1[gb:-gb, gb:-gb], b2[gb:-gb, gb:-gb]
        corr = b1 * np.conj(b2)
        varr = np.abs(b1) ** 2 + np.abs(b2) ** 2
        corr_band = correlate2d(corr, window, mode="valid")
        varr_band = correlate2d(varr, window, mode="valid")
        cmap = (2 * np.abs(corr_band) + k) / (varr_band + k)
        scores.append(np.sum(cmap * w))
    return float(np.mean(scores))
