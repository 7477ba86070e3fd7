"""Float64 NumPy transcription of the authors' FeatureSIM.m (Zhang et al. 2011) with its embedded
phasecong2 and lowpassfilter (Kovesi), loop by loop as the MATLAB code runs it: per orientation
and scale filters, the ifft2 filter arrays for the noise estimate, np.median (MATLAB's median)."""

from __future__ import annotations

import math

import numpy as np

from tests.oracles.matlab_gmsd import conv2_same


def _grid(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    def rng(n: int) -> np.ndarray:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1) if n % 2 else np.arange(-n / 2, n / 2) / n

    return np.meshgrid(rng(cols), rng(rows))


def _lowpass(rows: int, cols: int, cutoff: float, n: int) -> np.ndarray:
    x, y = _grid(rows, cols)
    return np.fft.ifftshift(1.0 / (1.0 + (np.sqrt(x**2 + y**2) / cutoff) ** (2 * n)))


def phasecong2(im: np.ndarray) -> np.ndarray:
    nscale, norient, min_wl, mult, sigma_on_f, d_theta, k, eps = 4, 4, 6, 2, 0.55, 1.2, 2.0, 1e-4
    theta_sigma = math.pi / norient / d_theta
    rows, cols = im.shape
    imagefft = np.fft.fft2(im)
    x, y = _grid(rows, cols)
    radius = np.fft.ifftshift(np.sqrt(x**2 + y**2))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    radius[0, 0] = 1
    sintheta, costheta = np.sin(theta), np.cos(theta)
    lp = _lowpass(rows, cols, 0.45, 15)
    log_gabor = []
    for s in range(1, nscale + 1):
        fo = 1.0 / (min_wl * mult ** (s - 1))
        g = np.exp(-((np.log(radius / fo)) ** 2) / (2 * math.log(sigma_on_f) ** 2)) * lp
        g[0, 0] = 0
        log_gabor.append(g)
    energy_all = np.zeros((rows, cols))
    an_all = np.zeros((rows, cols))
    for o in range(1, norient + 1):
        angl = (o - 1) * math.pi / norient
        ds = sintheta * math.cos(angl) - costheta * math.sin(angl)
        dc = costheta * math.cos(angl) + sintheta * math.sin(angl)
        spread = np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * theta_sigma**2))
        sum_e = np.zeros((rows, cols))
        sum_o = np.zeros((rows, cols))
        sum_an = np.zeros((rows, cols))
        eo, ifft_filters = [], []
        for s in range(nscale):
            filt = log_gabor[s] * spread
            ifft_filters.append(np.real(np.fft.ifft2(filt)) * math.sqrt(rows * cols))
            eo.append(np.fft.ifft2(imagefft * filt))
            an = np.abs(eo[s])
            sum_an += an
            sum_e += np.real(eo[s])
            sum_o += np.imag(eo[s])
            if s == 0:
                em_n = np.sum(filt**2)
        x_energy = np.sqrt(sum_e**2 + sum_o**2) + eps
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = np.zeros((rows, cols))
        for s in range(nscale):
            e, od = np.real(eo[s]), np.imag(eo[s])
            energy += e * mean_e + od * mean_o - np.abs(e * mean_o - od * mean_e)
        median_e2n = np.median(np.abs(eo[0]).ravel() ** 2)
        noise_power = (-median_e2n / math.log(0.5)) / em_n
        est_sum_an2 = sum(f**2 for f in ifft_filters)
        est_sum_aiaj = np.zeros((rows, cols))
        for si in range(nscale - 1):
            for sj in range(si + 1, nscale):
                est_sum_aiaj += ifft_filters[si] * ifft_filters[sj]
        est_noise_energy2 = 2 * noise_power * np.sum(est_sum_an2) + 4 * noise_power * np.sum(est_sum_aiaj)
        tau = math.sqrt(est_noise_energy2 / 2)
        t = (tau * math.sqrt(math.pi / 2) + k * math.sqrt((2 - math.pi / 2) * tau**2)) / 1.7
        energy_all += np.maximum(energy - t, 0)
        an_all += sum_an
    return energy_all / an_all


def feature_sim(ref: np.ndarray, dis: np.ndarray) -> tuple[float, float]:
    """(FSIM, FSIMc) of (H, W) grey or (H, W, 3) RGB images on 0-255."""
    rows, cols = ref.shape[:2]
    if ref.ndim == 3:

        def yiq(a: np.ndarray) -> tuple[np.ndarray, ...]:
            r, g, b = (a[..., c].astype(np.float64) for c in range(3))
            return (
                0.299 * r + 0.587 * g + 0.114 * b,
                0.596 * r - 0.274 * g - 0.322 * b,
                0.211 * r - 0.523 * g + 0.312 * b,
            )

        y1, i1, q1 = yiq(ref)
        y2, i2, q2 = yiq(dis)
    else:
        y1, y2 = ref.astype(np.float64), dis.astype(np.float64)
        i1 = i2 = q1 = q2 = np.ones((rows, cols))
    f = max(1, math.floor(min(rows, cols) / 256 + 0.5))
    ave = np.ones((f, f)) / f**2
    y1, y2, i1, i2, q1, q2 = (conv2_same(a, ave)[::f, ::f] for a in (y1, y2, i1, i2, q1, q2))
    pc1, pc2 = phasecong2(y1), phasecong2(y2)
    dx = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], dtype=np.float64) / 16
    dy = np.array([[3, 10, 3], [0, 0, 0], [-3, -10, -3]], dtype=np.float64) / 16
    g1 = np.sqrt(conv2_same(y1, dx) ** 2 + conv2_same(y1, dy) ** 2)
    g2 = np.sqrt(conv2_same(y2, dx) ** 2 + conv2_same(y2, dy) ** 2)
    pcs = (2 * pc1 * pc2 + 0.85) / (pc1**2 + pc2**2 + 0.85)
    gs = (2 * g1 * g2 + 160) / (g1**2 + g2**2 + 160)
    pcm = np.maximum(pc1, pc2)
    fsim = np.sum(gs * pcs * pcm) / np.sum(pcm)
    si = (2 * i1 * i2 + 200) / (i1**2 + i2**2 + 200)
    sq = (2 * q1 * q2 + 200) / (q1**2 + q2**2 + 200)
    fsimc = np.sum(gs * pcs * np.real((si * sq).astype(complex) ** 0.03) * pcm) / np.sum(pcm)
    return float(fsim), float(fsimc)
