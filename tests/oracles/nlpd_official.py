"""Float64 NumPy transcription of the authors' NLP_dist.m (Laparra et al. 2016), with MATLAB
imfilter ('symmetric' and default zero padding, correlation), padarray 'replicate' and
conv2 'same' written out via NumPy/SciPy."""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate2d

from tests.oracles.matlab_gmsd import conv2_same

SIGMAS = [0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782]


def _dn_filters() -> list[np.ndarray]:
    f = [np.zeros((5, 5)) for _ in range(6)]
    f[0] = np.array(
        [[0, 0, 0, 0, 0], [0, 0, 0.1011, 0, 0], [0, 0.1493, 0, 0.1460, 0.0072], [0, 0, 0.1015, 0, 0], [0, 0, 0, 0, 0]]
    )
    f[1][1:4, 1:4] = [[0, 0.0757, 0], [0.1986, 0, 0.1846], [0, 0.0837, 0]]
    f[2][1:4, 1:4] = [[0, 0.0477, 0], [0.2138, 0, 0.2243], [0, 0.0467, 0]]
    f[3][1:4, 1:4] = [[0, 0, 0], [0.2503, 0, 0.2616], [0, 0, 0]]
    f[4][1:4, 1:4] = [[0, 0, 0], [0.2598, 0, 0.2552], [0, 0, 0]]
    f[5][1:4, 1:4] = [[0, 0, 0], [0.2215, 0, 0.0717], [0, 0, 0]]
    return f


def _imfilter(a: np.ndarray, k: np.ndarray, pad: str) -> np.ndarray:
    p = np.pad(a, 2, mode="symmetric") if pad == "symmetric" else np.pad(a, 2)
    return correlate2d(p, k, mode="valid")


def _pyramid(im: np.ndarray, nlev: int = 6) -> list[np.ndarray]:
    f = np.array([0.05, 0.25, 0.4, 0.25, 0.05])
    filt = np.outer(f, f)
    pyr, j = [], im
    for _ in range(nlev - 1):
        low = _imfilter(j, filt, "symmetric")[::2, ::2]
        odd = 2 * np.array(low.shape) - np.array(j.shape)
        p = np.pad(low, 1, mode="edge")
        r, c = 2 * p.shape[0], 2 * p.shape[1]
        up = np.zeros((r, c))
        up[::2, ::2] = 4 * p
        up = _imfilter(up, filt, "zeros")[2 : r - 2 - odd[0], 2 : c - 2 - odd[1]]
        pyr.append(j - up)
        j = low
    pyr.append(j)
    return pyr


def nlp_dist(im1: np.ndarray, im2: np.ndarray) -> float:
    """im1 (original), im2: grey images in [0, 1], float64."""
    filts = _dn_filters()

    def nlp(im: np.ndarray) -> list[np.ndarray]:
        return [b / (SIGMAS[i] + conv2_same(np.abs(b), filts[i])) for i, b in enumerate(_pyramid(im))]

    a, b = nlp(im1), nlp(im2)
    return float(np.mean([np.sqrt(np.mean((x - y) ** 2)) for x, y in zip(a, b)]))
