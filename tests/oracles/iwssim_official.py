"""Float64 NumPy transcription of the authors' iwssim.m (Wang & Li 2011), scale_quality_maps.m,
info_content_weight_map.m and imenlarge2.m. The Laplacian pyramid is pyrtools' (the Python port of
matlabPyrTools' buildLpyr, same C kernels), so it is independent of iqa's own pyramid."""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate2d

from tests.oracles.vsi_official import imresize_bilinear


def _gauss(n: int = 11, sigma: float = 1.5) -> np.ndarray:
    t = np.arange(n) - (n - 1) / 2
    g = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma**2))
    return g / g.sum()


def _filter2(win: np.ndarray, a: np.ndarray, shape: str) -> np.ndarray:
    return correlate2d(a, win, mode=shape)


def imenlarge2(im: np.ndarray) -> np.ndarray:
    m, n = im.shape
    t1 = imresize_bilinear(im, 4 * m - 3, 4 * n - 3)
    t2 = np.zeros((4 * m - 1, 4 * n - 1))
    t2[1:-1, 1:-1] = t1
    t2[0, :] = 2 * t2[1, :] - t2[2, :]
    t2[-1, :] = 2 * t2[-2, :] - t2[-3, :]
    t2[:, 0] = 2 * t2[:, 1] - t2[:, 2]
    t2[:, -1] = 2 * t2[:, -2] - t2[:, -3]
    return t2[::2, ::2]


def _shift(m: np.ndarray, offset: tuple[int, int]) -> np.ndarray:
    """matlabPyrTools shift: RES(POS) = MTX(POS - OFFSET), circularly."""
    return np.roll(m, offset, axis=(0, 1))


def _info_weight(y: np.ndarray, yn: np.ndarray, parent: np.ndarray | None, sigma_nsq: float = 0.4) -> np.ndarray:
    tol = 1e-15
    win = np.ones((3, 3)) / 9
    mx, my = _filter2(win, y, "same"), _filter2(win, yn, "same")
    cov = _filter2(win, y * yn, "same") - mx * my
    ssx = np.maximum(_filter2(win, y * y, "same") - mx**2, 0)
    ssy = np.maximum(_filter2(win, yn * yn, "same") - my**2, 0)
    g = cov / (ssx + tol)
    vv = ssy - g * cov
    g[ssx < tol] = 0
    vv[ssx < tol] = ssy[ssx < tol]
    ssx[ssx < tol] = 0
    g[ssy < tol] = 0
    vv[ssy < tol] = 0
    nsy, nsx = y.shape
    nblv, nblh = nsy - 2, nsx - 2
    cols = []
    for ny in (-1, 0, 1):
        for nx in (-1, 0, 1):
            cols.append(_shift(y, (ny, nx))[1 : 1 + nblv, 1 : 1 + nblh].ravel(order="F"))
    if parent is not None:
        cols.append(imenlarge2(parent)[:nsy, :nsx][1 : 1 + nblv, 1 : 1 + nblh].ravel(order="F"))
    Y = np.stack(cols, 1)
    n = Y.shape[1]
    cu = Y.T @ Y / Y.shape[0]
    lam, q = np.linalg.eigh(cu)
    pos = lam * (lam > 0)
    lam = pos * lam.sum() / (pos.sum() + (pos.sum() == 0))
    cu = q @ np.diag(lam) @ q.T
    ss = ((Y @ np.linalg.inv(cu)) * Y).sum(1) / n
    ss = ss.reshape((nblv, nblh), order="F")
    g, vv = g[1 : 1 + nblv, 1 : 1 + nblh], vv[1 : 1 + nblv, 1 : 1 + nblh]
    infow = np.zeros_like(g)
    for lj in lam:
        infow += np.log2(1 + ((vv + (1 + g * g) * sigma_nsq) * ss * lj + sigma_nsq * vv) / (sigma_nsq * sigma_nsq))
    infow[infow < tol] = 0
    return infow


def iwssim(oimg: np.ndarray, img: np.ndarray) -> float:
    """oimg (reference), img: grey images on 0-255, float64."""
    import pyrtools as pt

    nsc = 5
    weight = np.array([0.0448, 0.2856, 0.3001, 0.2363, 0.1333])
    weight = weight / weight.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    win = _gauss()
    po = pt.pyramids.LaplacianPyramid(oimg, height=nsc, edge_type="reflect1").pyr_coeffs
    pd = pt.pyramids.LaplacianPyramid(img, height=nsc, edge_type="reflect1").pyr_coeffs
    out = 1.0
    for s in range(nsc):
        y, yn = po[(s, 0)], pd[(s, 0)]
        mu1, mu2 = _filter2(win, y, "valid"), _filter2(win, yn, "valid")
        s12 = _filter2(win, y * yn, "valid") - mu1 * mu2
        s1 = np.maximum(_filter2(win, y * y, "valid") - mu1**2, 0)
        s2 = np.maximum(_filter2(win, yn * yn, "valid") - mu2**2, 0)
        cs = (2 * s12 + c2) / (s1 + s2 + c2)
        if s == nsc - 1:
            cs = cs * (2 * mu1 * mu2 + c1) / (mu1**2 + mu2**2 + c1)
            iw = np.ones_like(cs)
        else:
            # prnt = parent & (nband < Nsc - 1): the last band-pass level (nband = Nsc - 1) has none.
            iw = _info_weight(y, yn, po[(s + 1, 0)] if s + 1 < nsc - 1 else None)[4:-4, 4:-4]
        out *= (np.sum(cs * iw) / np.sum(iw)) ** weight[s]
    return float(out)
