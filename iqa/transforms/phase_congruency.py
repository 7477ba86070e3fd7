"""Kovesi's phase congruency (``phasecong2``) as embedded in the FSIM reference code.

Reference: P. Kovesi, "Image Features From Phase Congruency", Videre 1999; the ``phasecong2``
function shipped inside Zhang et al.'s ``FeatureSIM.m``, with its parameters: 4 scales, 4
orientations, smallest wavelength 6, scale factor 2, sigmaOnf 0.55, dThetaOnSigma 1.2, noise
threshold k = 2 (rescaled by 1/1.7 for the PC_2 measure), epsilon 1e-4. Filters are built in
the frequency domain on MATLAB's normalised grid (odd and even sizes differ), multiplied by the
Butterworth low-pass ``lowpassfilter([rows cols], .45, 15)``; the noise power comes from the
median of the smallest scale's squared amplitude (MATLAB's median: mean of the two middle
values for an even count). Differentiable through ``torch.fft``.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from iqa.transforms.matlab import median

N_SCALE, N_ORIENT = 4, 4
MIN_WAVELENGTH, MULT = 6.0, 2.0
SIGMA_ON_F, D_THETA_ON_SIGMA = 0.55, 1.2
K_NOISE, EPS = 2.0, 1e-4


def _axis(n: int) -> torch.Tensor:
    """MATLAB's normalised frequency range for one axis (odd and even sizes differ)."""
    if n % 2:
        return (torch.arange(n, dtype=torch.float64) - (n - 1) / 2) / max(n - 1, 1)
    return (torch.arange(n, dtype=torch.float64) - n / 2) / n


def _ifftshift(a: torch.Tensor) -> torch.Tensor:
    return torch.fft.ifftshift(a, dim=(-2, -1))


@lru_cache(maxsize=8)
def _filters_f64(rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(orient, scale, H, W) filters, per-orientation sum of squares of the smallest-scale filter,
    and the per-orientation noise-energy factor 2 sum(ifft^2) + 4 sum_{i<j}(ifft_i ifft_j).
    """
    y, x = torch.meshgrid(_axis(rows), _axis(cols), indexing="ij")
    radius = _ifftshift(torch.sqrt(x * x + y * y))
    theta = _ifftshift(torch.atan2(-y, x))
    lowpass = 1.0 / (1.0 + (radius / 0.45) ** 30)  # Butterworth, cutoff .45, order 15 (2n = 30)
    radius = radius.clone()
    radius[0, 0] = 1.0  # avoid log(0); the DC value is zeroed below
    log_gabor = []
    for s in range(N_SCALE):
        fo = 1.0 / (MIN_WAVELENGTH * MULT**s)
        g = torch.exp(-(torch.log(radius / fo) ** 2) / (2 * math.log(SIGMA_ON_F) ** 2)) * lowpass
        g[0, 0] = 0.0
        log_gabor.append(g)
    theta_sigma = math.pi / N_ORIENT / D_THETA_ON_SIGMA
    sin_t, cos_t = torch.sin(theta), torch.cos(theta)
    filters, em_n, noise_factor = [], [], []
    for o in range(N_ORIENT):
        angle = o * math.pi / N_ORIENT
        ds = sin_t * math.cos(angle) - cos_t * math.sin(angle)
        dc = cos_t * math.cos(angle) + sin_t * math.sin(angle)
        spread = torch.exp(-(torch.atan2(ds, dc).abs() ** 2) / (2 * theta_sigma**2))
        per_scale = torch.stack([g * spread for g in log_gabor])
        spatial = torch.fft.ifft2(per_scale).real * math.sqrt(rows * cols)
        sum_sq = (spatial**2).sum()
        total = spatial.sum(0)
        sum_cross = ((total**2).sum() - sum_sq) / 2  # sum over i < j of ifft_i * ifft_j
        filters.append(per_scale)
        em_n.append((per_scale[0] ** 2).sum())
        noise_factor.append(2 * sum_sq + 4 * sum_cross)
    return torch.stack(filters), torch.stack(em_n), torch.stack(noise_factor)


def phase_congruency(im: torch.Tensor) -> torch.Tensor:
    """PC map of grey images (N, 1, H, W) -> (N, 1, H, W) (Kovesi's PC_2 with noise compensation)."""
    rows, cols = im.shape[-2:]
    filt, em_n, noise_factor = (t.to(device=im.device, dtype=im.dtype) for t in _filters_f64(rows, cols))
    spectrum = torch.fft.fft2(im[:, 0])  # (N, H, W)
    energy_all = torch.zeros_like(im[:, 0])
    an_all = torch.zeros_like(im[:, 0])
    for o in range(N_ORIENT):
        eo = torch.fft.ifft2(spectrum[:, None] * filt[o][None])  # (N, scale, H, W), complex
        e, od = eo.real, eo.imag
        power = e * e + od * od
        an = torch.sqrt(power)  # |EO|; faster than the complex abs (hypot)
        sum_e, sum_o = e.sum(1), od.sum(1)
        x_energy = torch.sqrt(sum_e**2 + sum_o**2) + EPS
        mean_e, mean_o = (sum_e / x_energy)[:, None], (sum_o / x_energy)[:, None]
        energy = (e * mean_e + od * mean_o - (e * mean_o - od * mean_e).abs()).sum(1)
        median_e2n = median(power[:, 0].flatten(1))  # (N,)
        noise_power = -median_e2n / math.log(0.5) / em_n[o]
        tau = torch.sqrt(noise_power * noise_factor[o] / 2)  # Rayleigh parameter
        threshold = (tau * math.sqrt(math.pi / 2) + K_NOISE * torch.sqrt((2 - math.pi / 2) * tau**2)) / 1.7
        energy_all = energy_all + torch.clamp_min(energy - threshold[:, None, None], 0)
        an_all = an_all + an.sum(1)
    return (energy_all / an_all)[:, None]
