"""Float64 NumPy transcription of the authors' haarPsi.py / HaarPSI.m (Reisenhofer et al. 2018),
written loop-by-loop from the published algorithm with MATLAB conv2 'same' semantics (the port
gets them by rotating data and kernel by 180 degrees around SciPy's convolve2d)."""

from __future__ import annotations

import numpy as np

from tests.oracles.matlab_gmsd import conv2_same


def _subsample(a: np.ndarray) -> np.ndarray:
    return conv2_same(a, np.ones((2, 2)) / 4)[::2, ::2]


def _sim(a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
    return (2 * a * b + c) / (a**2 + b**2 + c)


def haar_psi(ref: np.ndarray, dist: np.ndarray, subsample: bool = True) -> float:
    """ref, dist: (H, W) grey or (H, W, 3) RGB on 0-255."""
    c, alpha, n_scales = 30.0, 4.2, 3
    ref, dist = ref.astype(np.float64), dist.astype(np.float64)
    colour = ref.ndim == 3
    if colour:
        planes = []
        for im in (ref, dist):
            r, g, b = im[..., 0], im[..., 1], im[..., 2]
            planes.append(
                (
                    0.299 * r + 0.587 * g + 0.114 * b,
                    0.596 * r - 0.274 * g - 0.322 * b,
                    0.211 * r - 0.523 * g + 0.312 * b,
                )
            )
    else:
        planes = [(ref,), (dist,)]
    if subsample:
        planes = [tuple(_subsample(p) for p in im) for im in planes]
    coeffs = []
    for im in planes:
        y = im[0]
        per = np.zeros(y.shape + (2 * n_scales,))
        for s in range(1, n_scales + 1):
            h = 2.0**-s * np.ones((2**s, 2**s))
            h[: h.shape[0] // 2] *= -1
            per[..., s - 1] = conv2_same(y, h)
            per[..., s + n_scales - 1] = conv2_same(y, h.T)
        coeffs.append(per)
    k = 3 if colour else 2
    sims, weights = np.zeros(planes[0][0].shape + (k,)), np.zeros(planes[0][0].shape + (k,))
    for o in range(2):
        weights[..., o] = np.maximum(np.abs(coeffs[0][..., 2 + o * n_scales]), np.abs(coeffs[1][..., 2 + o * n_scales]))
        idx = [o * n_scales, 1 + o * n_scales]
        sims[..., o] = _sim(np.abs(coeffs[0][..., idx]), np.abs(coeffs[1][..., idx]), c).sum(2) / 2
    if colour:
        box = np.ones((2, 2)) / 4
        si = _sim(np.abs(conv2_same(planes[0][1], box)), np.abs(conv2_same(planes[1][1], box)), c)
        sq = _sim(np.abs(conv2_same(planes[0][2], box)), np.abs(conv2_same(planes[1][2], box)), c)
        sims[..., 2] = (si + sq) / 2
        weights[..., 2] = (weights[..., 0] + weights[..., 1]) / 2
    v = np.sum(1 / (1 + np.exp(-alpha * sims)) * weights) / np.sum(weights)
    return float((np.log(v / (1 - v)) / alpha) ** 2)
