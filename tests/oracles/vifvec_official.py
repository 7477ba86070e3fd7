"""Float64 NumPy transcription of LIVE's vifvec.m, vifsub_est_M.m, refparams_vecgsm.m and
ind2wtree.m (Sheikh & Bovik 2006), on pyrtools' SteerablePyramidSpace and corrDn (the Python port of
matlabPyrTools' buildSpyr/corrDn): MATLAB's column-major reshapes and 1-based ranges written out."""

from __future__ import annotations

import math

import numpy as np


def _wtree(im: np.ndarray) -> dict[int, np.ndarray]:
    import pyrtools as pt

    p = pt.pyramids.SteerablePyramidSpace(im, height=4, order=5, edge_type="reflect1").pyr_coeffs
    # buildSpyr order: hi0, then levels 1..4 with bands 1..6, then the low-pass; ind2wtree reverses it.
    order = [p["residual_highpass"]] + [p[(lev, b)] for lev in range(4) for b in range(6)] + [p["residual_lowpass"]]
    n = len(order)
    return {n - i: band for i, band in enumerate(order)}  # wtree{numsubs - i + 1} = band i (1-based)


def _channel(y: np.ndarray, yn: np.ndarray, sub: int, m: int = 3) -> tuple[np.ndarray, np.ndarray]:
    import pyrtools as pt

    tol = 1e-15
    lev = math.ceil((sub - 1) / 6)
    win = np.ones((2**lev + 1, 2**lev + 1))
    n = win.sum()
    h, w = (int(d) // m * m for d in y.shape)
    y, yn = y[:h, :w], yn[:h, :w]
    start = (m // 2, m // 2)  # winstart = floor(M/2) + 1, 1-based
    stop = (h - math.ceil(m / 2) + 1, w - math.ceil(m / 2) + 1)  # winstop, 1-based inclusive

    def cd(a: np.ndarray, f: np.ndarray) -> np.ndarray:
        return pt.corrDn(a, f, "reflect1", step=(m, m), start=start, stop=stop)

    mx, my = cd(y, win / n), cd(yn, win / n)
    cov = cd(y * yn, win) - n * mx * my
    ssx = cd(y * y, win) - n * mx**2
    ssy = cd(yn * yn, win) - n * my**2
    ssx[ssx < 0] = 0
    ssy[ssy < 0] = 0
    g = cov / (ssx + tol)
    vv = (ssy - g * cov) / n
    g[ssx < tol] = 0
    vv[ssx < tol] = ssy[ssx < tol]
    ssx[ssx < tol] = 0
    g[ssy < tol] = 0
    vv[ssy < tol] = 0
    vv[g < 0] = ssy[g < 0]
    g[g < 0] = 0
    vv[vv <= tol] = tol
    return g, vv


def _refparams(y: np.ndarray, m: int = 3) -> tuple[np.ndarray, np.ndarray]:
    h, w = (int(d) // m * m for d in y.shape)
    y = y[:h, :w]
    rows = []
    for j in range(1, m + 1):
        for k in range(1, m + 1):
            rows.append(y[k - 1 : h - (m - k), j - 1 : w - (m - j)].ravel(order="F"))
    temp = np.array(rows)
    mcu = temp.mean(1, keepdims=True)
    cu = (temp - mcu) @ (temp - mcu).T / temp.shape[1]
    rows = [y[k - 1 :: m, j - 1 :: m].ravel(order="F") for j in range(1, m + 1) for k in range(1, m + 1)]
    temp = np.array(rows)
    ss = (np.linalg.inv(cu) @ temp * temp).sum(0) / (m * m)
    return ss.reshape((h // m, w // m), order="F"), np.linalg.eigvalsh(cu)


def vifvec(imorg: np.ndarray, imdist: np.ndarray) -> float:
    """imorg (reference), imdist: grey images on 0-255, float64."""
    sigma_nsq, m = 0.4, 3
    org, dist = _wtree(imorg), _wtree(imdist)
    num, den = 0.0, 0.0
    for sub in (4, 7, 10, 13, 16, 19, 22, 25):
        g, vv = _channel(org[sub], dist[sub], sub, m)
        ss, lam = _refparams(org[sub], m)
        lev = math.ceil((sub - 1) / 6)
        off = math.ceil(((2**lev + 1 - 1) / 2) / m)
        g, vv, ss = g[off:-off, off:-off], vv[off:-off, off:-off], ss[off:-off, off:-off]
        for lj in lam:
            num += np.sum(np.log2(1 + g * g * ss * lj / (vv + sigma_nsq)))
            den += np.sum(np.log2(1 + ss * lj / sigma_nsq))
    return float(num / den)
