"""Float64 NumPy transcription of the authors' VSI.m (Zhang, Shen, Li 2014) with its SDSP,
RGB2Lab and logGabor helpers, and MATLAB imresize(..., 'bilinear') written out from MATLAB's
contributions() (triangle kernel, antialiasing when shrinking, mirrored indices)."""

from __future__ import annotations

import math

import numpy as np

from tests.oracles.matlab_gmsd import conv2_same


def _contrib(in_len: int, out_len: int) -> np.ndarray:
    scale = out_len / in_len
    kw = 2.0 / scale if scale < 1 else 2.0
    m = np.zeros((out_len, in_len))
    for i in range(1, out_len + 1):
        u = i / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - kw / 2)
        for j in range(left, left + int(math.ceil(kw)) + 2):
            d = u - j
            wgt = scale * max(0.0, 1 - abs(scale * d)) if scale < 1 else max(0.0, 1 - abs(d))
            k = j - 1
            while k < 0 or k >= in_len:  # symmetric mirroring
                k = -k - 1 if k < 0 else 2 * in_len - k - 1
            m[i - 1, k] += wgt
    return m / m.sum(1, keepdims=True)


def imresize_bilinear(a: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return _contrib(a.shape[0], rows) @ a @ _contrib(a.shape[1], cols).T


def _rgb2lab(im: np.ndarray) -> np.ndarray:
    def lin(c: np.ndarray) -> np.ndarray:
        c = c / 255
        return np.where(c <= 0.04045, c / 12.92, ((np.maximum(c, 0) + 0.055) / 1.055) ** 2.4)

    r, g, b = lin(im[..., 0]), lin(im[..., 1]), lin(im[..., 2])
    x = (r * 0.4124564 + g * 0.3575761 + b * 0.1804375) / 0.9642
    y = r * 0.2126729 + g * 0.7151522 + b * 0.0721750
    z = (r * 0.0193339 + g * 0.1191920 + b * 0.9503041) / 0.8251

    def f(t: np.ndarray) -> np.ndarray:
        return np.where(t > 0.008856, np.cbrt(t), (903.3 * t + 16) / 116)

    fx, fy, fz = f(x), f(y), f(z)
    return np.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], -1)


def _log_gabor(rows: int, cols: int, omega0: float, sigma_f: float) -> np.ndarray:
    u1, u2 = np.meshgrid(
        (np.arange(1, cols + 1) - (cols // 2 + 1)) / (cols - cols % 2),
        (np.arange(1, rows + 1) - (rows // 2 + 1)) / (rows - rows % 2),
    )
    mask = (u1**2 + u2**2) <= 0.25
    u1, u2 = np.fft.ifftshift(u1 * mask), np.fft.ifftshift(u2 * mask)
    radius = np.sqrt(u1**2 + u2**2)
    radius[0, 0] = 1
    with np.errstate(divide="ignore"):
        lg = np.exp(-((np.log(radius / omega0)) ** 2) / (2 * sigma_f**2))
    lg[0, 0] = 0
    return lg


def sdsp(
    image: np.ndarray, sigma_f: float = 1.34, omega0: float = 0.021, sigma_d: float = 145, sigma_c: float = 0.001
) -> np.ndarray:
    ori_rows, ori_cols = image.shape[:2]
    ds = np.stack([imresize_bilinear(image[..., c].astype(np.float64), 256, 256) for c in range(3)], -1)
    lab = _rgb2lab(ds)
    lg = _log_gabor(256, 256, omega0, sigma_f)
    res = [np.real(np.fft.ifft2(np.fft.fft2(lab[..., c]) * lg)) for c in range(3)]
    sf = np.sqrt(res[0] ** 2 + res[1] ** 2 + res[2] ** 2)
    rr, cc = np.meshgrid(np.arange(1, 257), np.arange(1, 257), indexing="ij")
    sd = np.exp(-((rr - 128.0) ** 2 + (cc - 128.0) ** 2) / sigma_d**2)
    a, b = lab[..., 1], lab[..., 2]
    na, nb = (a - a.min()) / (a.max() - a.min()), (b - b.min()) / (b.max() - b.min())
    sc = 1 - np.exp(-(na**2 + nb**2) / sigma_c**2)
    vs = imresize_bilinear(sf * sd * sc, ori_rows, ori_cols)
    return (vs - vs.min()) / (vs.max() - vs.min())  # mat2gray


def vsi(image1: np.ndarray, image2: np.ndarray) -> float:
    """image1 (reference), image2: (H, W, 3) RGB on 0-255."""
    s1, s2 = sdsp(image1), sdsp(image2)
    rows, cols = image1.shape[:2]

    def opp(im: np.ndarray) -> tuple[np.ndarray, ...]:
        r, g, b = (im[..., c].astype(np.float64) for c in range(3))
        return 0.06 * r + 0.63 * g + 0.27 * b, 0.30 * r + 0.04 * g - 0.35 * b, 0.34 * r - 0.60 * g + 0.17 * b

    l1, m1, n1 = opp(image1)
    l2, m2, n2 = opp(image2)
    f = max(1, math.floor(min(rows, cols) / 256 + 0.5))
    k = np.ones((f, f)) / f**2
    l1, l2, m1, m2, n1, n2, s1, s2 = (conv2_same(a, k)[::f, ::f] for a in (l1, l2, m1, m2, n1, n2, s1, s2))
    dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], dtype=np.float64) / 16
    dy = np.array([[3, 10, 3], [0, 0, 0], [-3, -10, -3]], dtype=np.float64) / 16
    g1 = np.sqrt(conv2_same(l1, dx) ** 2 + conv2_same(l1, dy) ** 2)
    g2 = np.sqrt(conv2_same(l2, dx) ** 2 + conv2_same(l2, dy) ** 2)
    vs_sim = (2 * s1 * s2 + 1.27) / (s1**2 + s2**2 + 1.27)
    g_sim = (2 * g1 * g2 + 386) / (g1**2 + g2**2 + 386)
    weight = np.maximum(s1, s2)
    i_sim = (2 * m1 * m2 + 130) / (m1**2 + m2**2 + 130)
    q_sim = (2 * n1 * n2 + 130) / (n1**2 + n2**2 + 130)
    s = g_sim**0.40 * vs_sim * np.real((i_sim * q_sim).astype(complex) ** 0.020) * weight
    return float(s.sum() / weight.sum())
