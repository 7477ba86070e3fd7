"""Float64 NumPy transcription of the authors' MAD_index_april_2010.m (Larson & Chandler) with
loop-by-loop ports of its mex files ical_std.c and ical_stat.c (column-major indexing as the C
code uses it: i runs over columns, j over rows).

Inputs are what the script's ``hi_index`` / ``lo_index`` receive: grey levels 0-255. With
``uint8=True`` (images read from 8-bit files) the luminance comes from the script's table as
``LUT(img + 1)`` in uint8 arithmetic; with ``uint8=False`` (double images) from the power itself.
"""

from __future__ import annotations

import math

import numpy as np


def ical_std(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = x.shape
    out_std, out_mod, out_mean, tmp = (np.zeros((rows, cols)) for _ in range(4))
    for i in range(0, cols - 15, 4):
        for j in range(0, rows - 15, 4):
            bx, by = x[j : j + 16, i : i + 16], y[j : j + 16, i : i + 16]
            mean, mean2 = bx.sum() / 256.0, by.sum() / 256.0
            stdev = math.sqrt(((bx - mean) ** 2).sum() / 255.0)
            out_mean[j : j + 4, i : i + 4] = mean2
            out_std[j : j + 4, i : i + 4] = stdev
    for i in range(0, cols - 15, 4):
        for j in range(0, rows - 15, 4):
            b = y[j : j + 8, i : i + 8]
            stdev = math.sqrt(((b - b.sum() / 64.0) ** 2).sum() / 63.0)
            tmp[j : j + 4, i : i + 4] = stdev
            out_mod[j : j + 4, i : i + 4] = stdev
    for i in range(0, cols - 15, 4):
        for j in range(0, rows - 15, 4):
            m = tmp[j, i]
            for ib in range(i, i + 8, 5):
                for jb in range(j, j + 8, 5):
                    if ib < cols - 15 and jb < rows - 15 and m > tmp[jb, ib]:
                        m = tmp[jb, ib]
            out_mod[j : j + 4, i : i + 4] = m
    return out_std, out_mod, out_mean


def ical_stat(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = x.shape
    o_std, o_skw, o_krt = (np.zeros((rows, cols)) for _ in range(3))
    for i in range(0, cols - 15, 4):
        for j in range(0, rows - 15, 4):
            b = x[j : j + 16, i : i + 16]
            mean = b.sum() / 256.0
            d = b - mean
            s2, s3, s4 = (d**2).sum(), (d**3).sum(), (d**4).sum()
            stmp = math.sqrt(s2 / 256.0)
            stdev = math.sqrt(s2 / 255.0)
            skw, krt = ((s3 / 256.0) / stmp**3, (s4 / 256.0) / stmp**4) if stmp != 0 else (0.0, 0.0)
            o_std[j : j + 4, i : i + 4], o_skw[j : j + 4, i : i + 4], o_krt[j : j + 4, i : i + 4] = stdev, skw, krt
    return o_std, o_skw, o_krt


def make_csf(x: int, y: int, nfreq: float) -> np.ndarray:
    xplane, yplane = np.meshgrid(
        np.arange(-x / 2 + 0.5, x / 2 - 0.5 + 1e-9), np.arange(-y / 2 + 0.5, y / 2 - 0.5 + 1e-9)
    )
    plane = (xplane + 1j * yplane) / y * 2 * nfreq
    radfreq = np.abs(plane)
    w = 0.7
    s = (1 - w) / 2 * np.cos(4 * np.angle(plane)) + (1 + w) / 2
    radfreq = radfreq / s
    csf = 2.6 * (0.0192 + 0.114 * radfreq) * np.exp(-((0.114 * radfreq) ** 1.1))
    csf[radfreq < 7.8909] = 0.9809
    return csf


def _imfilter_box_sym_conv(a: np.ndarray, n: int = 16) -> np.ndarray:
    # imfilter(a, ones(n)/n^2, 'symmetric', 'same', 'conv'); output(i) averages a(i-7 .. i+8).
    before, after = n // 2 - 1, n // 2
    p = np.pad(a, ((before, after), (before, after)), mode="symmetric")
    c = np.cumsum(np.cumsum(np.pad(p, ((1, 0), (1, 0))), 0), 1)
    return (c[n:, n:] - c[:-n, n:] - c[n:, :-n] + c[:-n, :-n]) / n**2


def lut_lookup(lut: np.ndarray, img_u8: np.ndarray) -> np.ndarray:
    """MATLAB ``LUT(img + 1)`` for a uint8 ``img``: uint8 + double saturates to uint8 (255 + 1 = 255)."""
    assert img_u8.dtype == np.uint8
    index_1based = np.minimum(img_u8.astype(np.int64) + 1, 255)  # NumPy's uint8 would wrap to 0 instead
    return lut[index_1based - 1]


def hi_index(ref_img: np.ndarray, dst_img: np.ndarray, bsize: int = 16, uint8: bool = True) -> float:
    k = 0.02874
    if uint8:  # LUT = 0:1:255; LUT = k .* LUT .^ (2.2/3); ref = LUT(ref_img + 1);
        assert np.array_equal(ref_img, np.round(ref_img)) and np.array_equal(dst_img, np.round(dst_img))
        lut = k * np.arange(256.0) ** (2.2 / 3)
        ref, dst = lut_lookup(lut, ref_img.astype(np.uint8)), lut_lookup(lut, dst_img.astype(np.uint8))
    else:  # ref = k .* ref_img .^ (2.2/3) (the releases from November 2010 on, for non-integer images)
        ref, dst = k * ref_img.astype(float) ** (2.2 / 3), k * dst_img.astype(float) ** (2.2 / 3)
    m, n = ref.shape
    csf = make_csf(m, n, 32).T
    ref = np.real(np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(ref)) * csf)))
    dst = np.real(np.fft.ifft2(np.fft.ifftshift(np.fft.fftshift(np.fft.fft2(dst)) * csf)))
    std_2, std_1, m1_1 = ical_std(dst - ref, ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        ci_ref = np.log(std_1 / m1_1)
        ci_dst = np.log(std_2 / m1_1)
    ci_dst[m1_1 < 0.5] = -np.inf
    msk = np.zeros_like(ci_dst)
    with np.errstate(invalid="ignore"):
        idx1 = (ci_ref > -5) & (ci_dst > (1 * (ci_ref - (-5)) + (-5)))
        idx2 = (ci_ref <= -5) & (ci_dst > -5)
    msk[idx1] = ci_dst[idx1] - (ci_ref[idx1] - (-5) + (-5))
    msk[idx2] = ci_dst[idx2] - (-5)
    lmse = _imfilter_box_sym_conv((ref_img.astype(float) - dst_img.astype(float)) ** 2, bsize)
    mp = msk * lmse
    mp2 = mp[bsize : -bsize - 1, bsize : -bsize - 1]
    return float(np.linalg.norm(mp2.ravel()) / math.sqrt(mp2.size))


def gaborconvolve(im: np.ndarray) -> list[list[np.ndarray]]:
    rows, cols = im.shape
    imagefft = np.fft.fft2(im)
    x = np.ones((rows, 1)) * (np.arange(-cols / 2, cols / 2 - 1 + 1e-9) / (cols / 2))[None, :]
    y = (np.arange(-rows / 2, rows / 2 - 1 + 1e-9) / (rows / 2))[:, None] * np.ones((1, cols))
    radius = np.sqrt(x**2 + y**2)
    rc, cc = math.floor(rows / 2 + 1 + 0.5) - 1, math.floor(cols / 2 + 1 + 0.5) - 1
    radius[rc, cc] = 1
    theta = np.arctan2(-y, x)
    sintheta, costheta = np.sin(theta), np.cos(theta)
    theta_sigma = math.pi / 4 / 1.5
    eo = [[None] * 4 for _ in range(5)]
    for o in range(4):
        angl = o * math.pi / 4
        ds = sintheta * math.cos(angl) - costheta * math.sin(angl)
        dc = costheta * math.cos(angl) + sintheta * math.sin(angl)
        spread = np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * theta_sigma**2))
        for s in range(5):
            rfo = (1.0 / (3 * 3**s)) / 0.5
            lg = np.exp(-((np.log(radius / rfo)) ** 2) / (2 * math.log(0.55) ** 2))
            lg[rc, cc] = 0
            eo[s][o] = np.fft.ifft2(imagefft * np.fft.fftshift(lg * spread))
    return eo


def lo_index(ref: np.ndarray, dst: np.ndarray, bsize: int = 16) -> float:
    gr, gd = gaborconvolve(ref), gaborconvolve(dst)
    s = np.array([0.5, 0.75, 1, 5, 6])
    s = s / s.sum()
    mp = np.zeros(ref.shape)
    for i in range(5):
        for j in range(4):
            a, b = ical_stat(np.abs(gr[i][j])), ical_stat(np.abs(gd[i][j]))
            mp += s[i] * (np.abs(a[0] - b[0]) + 2 * np.abs(a[1] - b[1]) + np.abs(a[2] - b[2]))
    mp2 = mp[bsize : -bsize - 1, bsize : -bsize - 1]
    return float(np.linalg.norm(mp2.ravel()) / math.sqrt(mp2.size))


def mad_index(ref_img: np.ndarray, dst_img: np.ndarray, uint8: bool = True) -> float:
    """Grey images on 0-255; ``uint8``: 8-bit levels of uint8 images (integer-valued arrays)."""
    hi = hi_index(ref_img, dst_img, uint8=uint8)
    lo = lo_index(ref_img.astype(float), dst_img.astype(float))
    b1, b2 = math.exp(-2.55 / 3.35), 1 / (math.log(10) * 3.35)
    sig = 1 / (1 + b1 * hi**b2)
    return float(lo ** (1 - sig) * hi**sig)
