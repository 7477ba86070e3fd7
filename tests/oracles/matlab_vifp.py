"""Float64 NumPy transcription of LIVE's vifp_mscale.m (Sheikh & Bovik 2006), step by step with
MATLAB's logical-index assignments in the script's order."""

from __future__ import annotations

import numpy as np
from scipy.signal import correlate2d


def fspecial_gaussian(n: int, sigma: float) -> np.ndarray:
    t = np.arange(n) - (n - 1) / 2
    h = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * sigma**2))
    return h / h.sum()


def vifp_mscale(ref: np.ndarray, dist: np.ndarray) -> float:
    sigma_nsq, num, den = 2.0, 0.0, 0.0
    for scale in range(1, 5):
        n = 2 ** (4 - scale + 1) + 1
        win = fspecial_gaussian(n, n / 5)
        f = lambda a: correlate2d(a, win, mode="valid")  # noqa: E731 - filter2(win, a, 'valid')
        if scale > 1:
            ref, dist = f(ref)[::2, ::2], f(dist)[::2, ::2]
        mu1, mu2 = f(ref), f(dist)
        s1, s2, s12 = f(ref * ref) - mu1 * mu1, f(dist * dist) - mu2 * mu2, f(ref * dist) - mu1 * mu2
        s1[s1 < 0] = 0
        s2[s2 < 0] = 0
        g = s12 / (s1 + 1e-10)
        sv = s2 - g * s12
        m = s1 < 1e-10
        g[m] = 0
        sv[m] = s2[m]
        s1[m] = 0
        m = s2 < 1e-10
        g[m] = 0
        sv[m] = 0
        m = g < 0
        sv[m] = s2[m]
        g[m] = 0
        sv[sv <= 1e-10] = 1e-10
        num += np.sum(np.log10(1 + g**2 * s1 / (sv + sigma_nsq)))
        den += np.sum(np.log10(1 + s1 / sigma_nsq))
    return num / den
