"""Float64 NumPy transcription of the authors' ``SR_SIM.m`` (Lin Zhang, Hongyu Li, ICIP 2012).

Source read: ``SR_SIM.m`` Version 1.0 (c) 2011 Lin Zhang, as mirrored in Netflix/vmaf
``matlab/strred/SR_SIM.m``. Written line by line from the MATLAB semantics, not from iqa's code:

- ``round``: halves away from zero; ``conv2(A, K, 'same')``: the central part of the full
  convolution (``conv2_same`` of the GMSD oracle);
- ``imfilter(A, H)`` (zero padding) and ``imfilter(A, H, 'replicate')``: 'same' correlation with the
  kernel's centre at tap ``floor((k + 1) / 2)`` (1-based);
- ``fspecial('average', k)`` = ones(k) / k^2; ``fspecial('gaussian', [k k], s)``: exp(-(x^2 + y^2) /
  (2 s^2)) on a grid centred at (k + 1) / 2, values below eps * max set to 0, divided by the sum;
- ``imresize(A, scale)`` / ``imresize(A, [r c])``: bicubic (Keys, a = -0.5), antialiased when
  shrinking (kernel h(x) = s * cubic(s * x), width 4 / s), output ``ceil(scale * size)``, source
  coordinate u = i / s + 0.5 (1 - 1 / s), ``floor(u - width / 2)`` plus ``ceil(width) + 2`` taps,
  weights normalised, out-of-range indices mirrored (``[1:n, n:-1:1]``), written out here;
- ``mat2gray(A)``: (A - min) / (max - min), clipped to [0, 1]; a constant A is only clipped.
Images are float64 on 0..255.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import correlate2d

from tests.oracles.matlab_gmsd import conv2_same


def _round(v: float) -> int:
    return int(math.floor(v + 0.5)) if v >= 0 else -int(math.floor(-v + 0.5))


def _cubic(x: float) -> float:
    a = abs(x)
    if a <= 1:
        return 1.5 * a**3 - 2.5 * a**2 + 1
    if a <= 2:
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
    return 0.0


def _contributions(in_len: int, out_len: int, scale: float) -> np.ndarray:
    """(out_len, in_len) matrix of MATLAB imresize's bicubic contributions along one dimension."""
    width = 4.0 / scale if scale < 1 else 4.0
    m = np.zeros((out_len, in_len))
    for i in range(1, out_len + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = [left + t for t in range(int(math.ceil(width)) + 2)]
        w = np.array([scale * _cubic(scale * (u - j)) if scale < 1 else _cubic(u - j) for j in taps])
        w = w / w.sum()
        aux = list(range(in_len)) + list(range(in_len - 1, -1, -1))
        for j, wj in zip(taps, w):
            m[i - 1, aux[(j - 1) % (2 * in_len)]] += wj
    return m


def imresize_scale(a: np.ndarray, scale: float) -> np.ndarray:
    rows, cols = math.ceil(scale * a.shape[0]), math.ceil(scale * a.shape[1])
    return _contributions(a.shape[0], rows, scale) @ a @ _contributions(a.shape[1], cols, scale).T


def imresize_size(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    r = _contributions(a.shape[0], rows, rows / a.shape[0])
    c = _contributions(a.shape[1], cols, cols / a.shape[1])
    return r @ a @ c.T


def imfilter(a: np.ndarray, h: np.ndarray, boundary: str = "zero") -> np.ndarray:
    kh, kw = h.shape
    ch, cw = (kh + 1) // 2 - 1, (kw + 1) // 2 - 1  # 0-based centre
    pad = ((ch, kh - 1 - ch), (cw, kw - 1 - cw))
    padded = np.pad(a, pad, mode="edge") if boundary == "replicate" else np.pad(a, pad)
    return correlate2d(padded, h, mode="valid")


def fspecial_gaussian(size: int, sigma: float) -> np.ndarray:
    r = (size - 1) / 2
    y, x = np.meshgrid(np.arange(size) - r, np.arange(size) - r, indexing="ij")
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    h[h < np.finfo(float).eps * h.max()] = 0
    return h / h.sum()


def mat2gray(a: np.ndarray) -> np.ndarray:
    lo, hi = a.min(), a.max()
    out = a.astype(np.float64) if hi == lo else (a - lo) / (hi - lo)
    return np.clip(out, 0, 1)


def spectral_residue_saliency(image: np.ndarray) -> np.ndarray:
    scale, ave_size, gau_sigma, gau_size = 0.25, 3, 3.8, 10
    in_img = imresize_scale(image, scale)
    my_fft = np.fft.fft2(in_img)
    log_amp = np.log(np.abs(my_fft))
    phase = np.angle(my_fft)
    residual = log_amp - imfilter(log_amp, np.ones((ave_size, ave_size)) / ave_size**2, "replicate")
    sal = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    sal = mat2gray(imfilter(sal, fspecial_gaussian(gau_size, gau_sigma)))
    return imresize_size(sal, image.shape[0], image.shape[1])


def sr_sim(image1: np.ndarray, image2: np.ndarray) -> float:
    """SR_SIM(image1, image2): (H, W, 3) RGB or (H, W) grey arrays on 0..255."""
    rows, cols = image1.shape[:2]
    if image1.ndim == 3:
        w = np.array([0.299, 0.587, 0.114])
        y1, y2 = image1.astype(np.float64) @ w, image2.astype(np.float64) @ w
    else:
        y1, y2 = image1.astype(np.float64), image2.astype(np.float64)
    f = max(1, _round(min(rows, cols) / 256))
    ave = np.ones((f, f)) / f**2
    y1, y2 = conv2_same(y1, ave)[::f, ::f], conv2_same(y2, ave)[::f, ::f]
    s1, s2 = spectral_residue_saliency(y1), spectral_residue_saliency(y2)
    dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]]) / 16
    dy = np.array([[3, 10, 3], [0, 0, 0], [-3, -10, -3]]) / 16
    g1 = np.sqrt(conv2_same(y1, dx) ** 2 + conv2_same(y1, dy) ** 2)
    g2 = np.sqrt(conv2_same(y2, dx) ** 2 + conv2_same(y2, dy) ** 2)
    c1, c2, alpha = 0.40, 225.0, 0.50
    sal_sim = (2 * s1 * s2 + c1) / (s1**2 + s2**2 + c1)
    grad_sim = (2 * g1 * g2 + c2) / (g1**2 + g2**2 + c2)
    weight = np.maximum(s1, s2)
    return float(np.sum(sal_sim * grad_sim**alpha * weight) / np.sum(weight))
