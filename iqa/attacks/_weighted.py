"""Weighted Gaussian statistics of a candidate pool and the closed-form gradient of FD w.r.t. the
per-candidate log-weights (resampling attack; Kynkaanniemi et al., ICLR 2023, ``resample_utils.py``).

With a_i = exp(w_i) (unnormalised), S = sum a_i:
  mu_w = sum a_i f_i / S,   Sigma_w = sum a_i (f_i - mu_w)(f_i - mu_w)^T / (S - 1)
(uniform weights give the unbiased sample covariance, as the reference). For FD with
G_mu = dFD/dmu, G_S = dFD/dSigma (symmetric):
  dFD/dw_i = a_i [ G_mu . (f_i - mu_w) / S + ((f_i - mu_w)^T G_S (f_i - mu_w) - tr(G_S Sigma_w)) / (S - 1) ]
(the mu_w-dependence of Sigma_w drops out because sum a_i (f_i - mu_w) = 0). Rows are processed in
chunks, so memory stays O(chunk x dim + dim^2) however large the pool, and no autograd graph over
the pool is kept.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch

CHUNK = 4096


def _chunks(n: int, size: int) -> Iterator[tuple[int, int]]:
    return ((i, min(i + size, n)) for i in range(0, n, size))


def weighted_stats(
    f: torch.Tensor, w: torch.Tensor, chunk: int = CHUNK
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(mu_w, Sigma_w, S) in float64 for features f (P, d) (any float dtype) and log-weights w (P,)."""
    a = torch.exp(w.to(torch.float64))
    s = a.sum()
    d = f.shape[1]
    mean = torch.zeros(d, dtype=torch.float64, device=f.device)
    for i, j in _chunks(len(f), chunk):
        mean += a[i:j] @ f[i:j].to(torch.float64)
    mean /= s
    scatter = torch.zeros(d, d, dtype=torch.float64, device=f.device)
    for i, j in _chunks(len(f), chunk):
        c = f[i:j].to(torch.float64) - mean
        scatter += (c * a[i:j, None]).T @ c
    return mean, scatter / (s - 1), s


def weight_gradient(
    f: torch.Tensor,
    w: torch.Tensor,
    mean: torch.Tensor,
    cov: torch.Tensor,
    s: torch.Tensor,
    g_mean: torch.Tensor,
    g_cov: torch.Tensor,
    chunk: int = CHUNK,
) -> torch.Tensor:
    """dFD/dw (P,) from the gradients of FD w.r.t. the weighted mean and covariance."""
    a = torch.exp(w.to(torch.float64))
    g_cov = (g_cov + g_cov.T) / 2
    tr = torch.sum(g_cov * cov)
    out = torch.empty(len(f), dtype=torch.float64, device=f.device)
    for i, j in _chunks(len(f), chunk):
        c = f[i:j].to(torch.float64) - mean
        quad = ((c @ g_cov) * c).sum(1)
        out[i:j] = a[i:j] * ((c @ g_mean) / s + (quad - tr) / (s - 1))
    return out
