"""Independent float64 NumPy/SciPy transcriptions of Wang's MATLAB ``ssim.m`` and ``msssim.m``.

Written from the MATLAB semantics, not from iqa's code, to serve as the test oracle:
- ``fspecial('gaussian', 11, 1.5)``: exp(-(x^2+y^2)/(2 sigma^2)) on a centred 11x11 grid, / sum.
- ``filter2(w, x, 'valid')``: 2-D correlation keeping only full windows (scipy.signal.correlate2d).
- ``imfilter(x, ones(f)/f^2, 'symmetric', 'same')``: correlation with the kernel's centre at
  ``floor((f+1)/2)`` (1-based), half-sample symmetric padding (numpy mode 'symmetric').
- ``x(1:f:end, 1:f:end)``: every f-th sample starting with the first.
- ``round``: half away from zero.
- ``rgb2ycbcr`` on double images in [0, 1]: Y = 16/255 + (65.481 R + 128.553 G + 24.966 B)/255;
  on uint8 images the result is rounded to an integer.
Images are float64 arrays on the 0..255 scale, as MATLAB's ``ssim.m`` expects (L = 255).
"""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate2d


def matlab_round(v: float) -> int:
    return int(np.floor(abs(v) + 0.5) * np.sign(v))


def fspecial_gaussian(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    r = (size - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return h / h.sum()


def imfilter_symmetric_same(img: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    kh, kw = kernel.shape
    ch, cw = (kh + 1) // 2 - 1, (kw + 1) // 2 - 1  # 0-based centre, MATLAB convention
    padded = np.pad(img, ((ch, kh - 1 - ch), (cw, kw - 1 - cw)), mode="symmetric")
    return correlate2d(padded, kernel, mode="valid")


def rgb2ycbcr_y(rgb: np.ndarray, uint8: bool = False) -> np.ndarray:
    """Y of MATLAB rgb2ycbcr for an HxWx3 image in [0, 1]; returns the 0..255 scale."""
    y = 16.0 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2])
    return np.floor(y + 0.5) if uint8 else y


def ssim_index(img1: np.ndarray, img2: np.ndarray, K=(0.01, 0.03), L=255.0, downsample=True):  # noqa: ANN001, ANN201
    """Wang's ssim.m: returns (mssim, mcs) for two 2-D float64 images on the 0..L scale."""
    img1, img2 = img1.astype(np.float64), img2.astype(np.float64)
    if downsample:
        f = max(1, matlab_round(min(img1.shape) / 256))
        if f > 1:
            lpf = np.ones((f, f)) / (f * f)
            img1 = imfilter_symmetric_same(img1, lpf)[::f, ::f]
            img2 = imfilter_symmetric_same(img2, lpf)[::f, ::f]
    return _ssim_valid(img1, img2, K, L)


def _ssim_valid(img1, img2, K, L):  # noqa: ANN001, ANN202
    w = fspecial_gaussian()
    C1, C2 = (K[0] * L) ** 2, (K[1] * L) ** 2
    mu1, mu2 = correlate2d(img1, w, "valid"), correlate2d(img2, w, "valid")
    s1 = correlate2d(img1 * img1, w, "valid") - mu1 * mu1
    s2 = correlate2d(img2 * img2, w, "valid") - mu2 * mu2
    s12 = correlate2d(img1 * img2, w, "valid") - mu1 * mu2
    cs = (2 * s12 + C2) / (s1 + s2 + C2)
    ssim_map = ((2 * mu1 * mu2 + C1) / (mu1 * mu1 + mu2 * mu2 + C1)) * cs
    return ssim_map.mean(), cs.mean()


def msssim(
    img1: np.ndarray, img2: np.ndarray, weights=(0.0448, 0.2856, 0.3001, 0.2363, 0.1333), method="product"
) -> float:  # noqa: ANN001, E501
    """Wang's msssim.m for 2-D float64 images on the 0..255 scale; ``method`` 'product' (its default) or
    'wtd_sum' (``weight = weight./sum(weight)``, then sum(mcs(1:L-1).*weight(1:L-1)) + mssim(L)*weight(L))."""
    img1, img2 = img1.astype(np.float64), img2.astype(np.float64)
    down = np.ones((2, 2)) / 4
    mssim, mcs = [], []
    for _ in weights:
        s, cs = _ssim_valid(img1, img2, (0.01, 0.03), 255.0)
        mssim.append(s)
        mcs.append(cs)
        img1 = imfilter_symmetric_same(img1, down)[::2, ::2]
        img2 = imfilter_symmetric_same(img2, down)[::2, ::2]
    lv = len(weights)
    if method == "wtd_sum":
        w = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        return float(np.sum(np.asarray(mcs[: lv - 1]) * w[: lv - 1]) + mssim[lv - 1] * w[lv - 1])
    return float(np.prod([mcs[i] ** weights[i] for i in range(lv - 1)]) * mssim[lv - 1] ** weights[lv - 1])
