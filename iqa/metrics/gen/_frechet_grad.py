"""Closed-form gradients of the Frechet distance (pure functions, float64; not a metric).

Used by FID attribution (``iqa.explain``) and the resampling attack (``iqa.attacks``); derived in
Kynkaanniemi et al., "The Role of ImageNet Classes in Frechet Inception Distance", ICLR 2023
(reference code: kynkaat/role-of-imagenet-classes-in-fid, which uses autograd instead).

For FD(mu, S) = |mu - mu_r|^2 + Tr S + Tr S_r - 2 Tr (S_r^(1/2) S S_r^(1/2))^(1/2):

- dFD/dmu = 2 (mu - mu_r)
- dFD/dS  = I - T, with T = R (R S R)^(-1/2) R, R = S_r^(1/2): the optimal-transport map from
  N(S) to N(S_r) (T S T = S_r).

``ridge`` adds ``ridge * I`` to both covariances first, which makes every quantity finite when a
covariance is singular (fewer samples than dimensions, one-hot class features).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from iqa.errors import InputError


def sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric PSD matrix (eigenvalues clamped at 0)."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def with_ridge(cov: torch.Tensor, ridge: float) -> torch.Tensor:
    return cov + ridge * torch.eye(cov.shape[0], dtype=cov.dtype) if ridge else cov


@dataclass
class FrechetReference:
    """The reference side N(mu_r, S_r) with S_r^(1/2) computed once (it is reused every step)."""

    mean: torch.Tensor
    cov: torch.Tensor
    sqrt_cov: torch.Tensor
    ridge: float = 0.0

    @classmethod
    def build(cls, mean: torch.Tensor, cov: torch.Tensor, ridge: float = 0.0) -> FrechetReference:
        mean, cov = mean.to(torch.float64), cov.to(torch.float64)
        if cov.shape != (mean.numel(), mean.numel()):
            raise InputError(f"reference covariance {tuple(cov.shape)} does not match mean {tuple(mean.shape)}")
        cov = with_ridge(cov, ridge)
        return cls(mean, cov, sqrt_psd(cov), ridge)

    def _spectrum(self, cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.sqrt_cov @ with_ridge(cov.to(torch.float64), self.ridge) @ self.sqrt_cov
        return torch.linalg.eigh((m + m.T) / 2)

    def distance(self, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
        """FD to N(mean, cov) (ridge applied to cov too); differentiable through eigh."""
        vals, _ = self._spectrum(cov)
        tr = vals.clamp_min(0).sqrt().sum()
        cov_r = with_ridge(cov.to(torch.float64), self.ridge)
        return (mean.to(torch.float64) - self.mean).square().sum() + torch.trace(cov_r) + torch.trace(self.cov) - 2 * tr

    def gradients(self, mean: torch.Tensor, cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(FD, dFD/dmean, dFD/dcov) at N(mean, cov), without autograd.

        Eigenvalues of R S R below 1e-12 of the largest are treated as zero in (R S R)^(-1/2)
        (a pseudo-inverse): their directions are then in the null space of R and cancel.
        """
        mean = mean.to(torch.float64)
        vals, vecs = self._spectrum(cov)
        vals = vals.clamp_min(0)
        keep = vals > vals.max() * 1e-12
        inv_sqrt = torch.where(keep, vals.clamp_min(1e-300).rsqrt(), torch.zeros_like(vals))
        t = self.sqrt_cov @ ((vecs * inv_sqrt) @ vecs.T) @ self.sqrt_cov
        cov_r = with_ridge(cov.to(torch.float64), self.ridge)
        fd = (mean - self.mean).square().sum() + torch.trace(cov_r) + torch.trace(self.cov) - 2 * vals.sqrt().sum()
        eye = torch.eye(mean.numel(), dtype=torch.float64)
        return fd, 2 * (mean - self.mean), eye - (t + t.T) / 2


def add_one(mean: torch.Tensor, cov: torch.Tensor, n: int, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Statistics of n samples plus one feature vector ``f``: the exact unbiased (n + 1)-sample ones.

    mean' = n/(n+1) mean + f/(n+1); cov' = (n-1)/n cov + 1/(n+1) (f - mean)(f - mean)^T, with the
    *old* mean, as the reference's "N - 1 + 1" set-up. Differentiable in ``f``.
    """
    if n < 2:
        raise InputError(f"adding a sample needs statistics of at least 2 samples, got {n}")
    d = f.to(torch.float64) - mean
    return mean * (n / (n + 1)) + f.to(torch.float64) / (n + 1), cov * ((n - 1) / n) + torch.outer(d, d) / (n + 1)


def remove_one(mean: torch.Tensor, cov: torch.Tensor, n: int, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`add_one`: statistics of the n samples without ``f`` (which must be one of them)."""
    if n < 3:
        raise InputError(f"leaving one sample out needs at least 3 samples, got {n}")
    f = f.to(torch.float64)
    d = f - mean
    scatter = cov * (n - 1) - torch.outer(d, d) * (n / (n - 1))
    return (mean * n - f) / (n - 1), scatter / (n - 2)


def feature_gradient(
    ref: FrechetReference, mean: torch.Tensor, cov: torch.Tensor, n: int, f: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(FD after adding ``f`` to n samples, dFD/df) in closed form.

    dFD/df = 2/(n+1) (mean' - mu_r) + 2/(n+1) (I - T') (f - mean), T' the OT map at cov'
    (the chain rule through :func:`add_one`; the spec's (2/N) form with N = n + 1).
    """
    new_mean, new_cov = add_one(mean, cov, n, f)
    fd, g_mean, g_cov = ref.gradients(new_mean, new_cov)
    d = f.to(torch.float64) - mean
    return fd, g_mean / (n + 1) + 2 * (g_cov @ d) / (n + 1)
