"""Float64 NumPy transcription of the authors' ``dss_index.m`` (Balanov, Schwartz, Moshe, Peleg, ICIP 2015).

Source read: ``dss_index.m`` Version 1.00, (c) 2015 Yair Moshe (MATLAB Central File Exchange 53708),
as mirrored in CCchuxin/VOCEA ``dss_index.m``. Written from the MATLAB semantics, not from iqa's
code, loops kept as in the script:

- ``dctmtx(8)``: D(1, j) = sqrt(1/8), D(k, j) = sqrt(2/8) cos(pi (2j - 1)(k - 1) / 16) (1-based);
- ``[X, Y] = meshgrid(1:8)``: X(m, n) = n, Y(m, n) = m;
- ``fspecial('gaussian', 3, 1.5)`` and ``imfilter(A, w)``: 'same' correlation, zero padding, centre
  at tap floor((k + 1) / 2) (the window is symmetric, so correlation and convolution agree);
- ``round``: halves away from zero; ``sort``: ascending; ``mean`` of the first ``round(0.05 numel)``.
Grey images as float64 arrays on 0..255 (the script takes grey input only).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import correlate2d


def _round(v: float) -> int:
    return int(math.floor(v + 0.5))


def dctmtx(n: int) -> np.ndarray:
    d = np.zeros((n, n))
    for k in range(1, n + 1):
        for j in range(1, n + 1):
            a = math.sqrt(1 / n) if k == 1 else math.sqrt(2 / n)
            d[k - 1, j - 1] = a * math.cos(math.pi * (2 * j - 1) * (k - 1) / (2 * n))
    return d


def _gaussian(size: int, sigma: float) -> np.ndarray:
    r = (size - 1) / 2
    y, x = np.meshgrid(np.arange(size) - r, np.arange(size) - r, indexing="ij")
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


def _imfilter(a: np.ndarray, h: np.ndarray) -> np.ndarray:
    k = h.shape[0]
    c = (k + 1) // 2 - 1
    return correlate2d(np.pad(a, ((c, k - 1 - c), (c, k - 1 - c))), h, mode="valid")


def dct_decomp(img: np.ndarray) -> np.ndarray:
    rows, cols = img.shape
    d = dctmtx(8)
    out = np.zeros((rows, cols))
    for br in range(rows // 8):
        for bc in range(cols // 8):
            block = img[8 * br : 8 * br + 8, 8 * bc : 8 * bc + 8]
            out[8 * br : 8 * br + 8, 8 * bc : 8 * bc + 8] = d @ block @ d.T
    return out


def subband_similarity(s1: np.ndarray, s2: np.ndarray, m: int, n: int, cs: tuple[float, float]) -> float:
    c = cs[0] if (m == 1 and n == 1) else cs[1]
    window = _gaussian(3, 1.5)
    mu1, mu2 = _imfilter(s1, window), _imfilter(s2, window)
    sigma1_sq = _imfilter(s1 * s1, window) - mu1 * mu1
    sigma2_sq = _imfilter(s2 * s2, window) - mu2 * mu2
    sigma12 = _imfilter(s1 * s2, window) - mu1 * mu2
    sigma1_sq[sigma1_sq < 0] = 0
    sigma2_sq[sigma2_sq < 0] = 0
    left = (2 * np.sqrt(sigma1_sq * sigma2_sq) + c) / (sigma1_sq + sigma2_sq + c)
    idx = _round(0.05 * left.size)
    similarity = float(np.mean(np.sort(left.ravel(order="F"))[:idx]))
    if m == 1 and n == 1:
        right = (sigma12 + c) / (np.sqrt(sigma1_sq * sigma2_sq) + c)
        similarity *= float(np.mean(np.sort(right.ravel(order="F"))[:idx]))
    return similarity


def dss_index(img1: np.ndarray, img2: np.ndarray, sigma: float = 1.55, cs: tuple[float, float] = (1000, 300)) -> float:
    """dss_index(img1, img2, sigma, C): img1 judged, img2 the reference; grey float64 on 0..255."""
    rows, cols = 8 * (img1.shape[0] // 8), 8 * (img1.shape[1] // 8)
    img1, img2 = img1[:rows, :cols].astype(np.float64), img2[:rows, :cols].astype(np.float64)
    d1, d2 = dct_decomp(img1), dct_decomp(img2)
    xs, ys = np.meshgrid(np.arange(1, 9), np.arange(1, 9))
    w = np.real(np.exp(-((xs - 0.5) ** 2 + (ys - 0.5) ** 2) / (2 * sigma**2)))
    sim = np.zeros((8, 8))
    for m in range(1, 9):
        for n in range(1, 9):
            if w[m - 1, n - 1] < 1e-2:
                w[m - 1, n - 1] = 0
                continue
            sim[m - 1, n - 1] = subband_similarity(d1[m - 1 :: 8, n - 1 :: 8], d2[m - 1 :: 8, n - 1 :: 8], m, n, cs)
    return float(np.sum(sim * (w / w.sum())))
