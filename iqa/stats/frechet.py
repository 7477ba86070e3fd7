"""The Frechet distance between Gaussians and its closed-form gradient (float64, on the inputs' device).

Distance (Dowson & Landau 1982; as FID, Heusel et al., NeurIPS 2017):
``FD = |mu1 - mu2|^2 + Tr S1 + Tr S2 - 2 Tr (S1 S2)^(1/2)``. :func:`frechet_distance` computes the
trace term by default through the symmetric form ``Tr (L^T S1 L)^(1/2)`` (S2 = L L^T) with
``eigvalsh`` (eigenvalues clamped >= 0), or through ``scipy.linalg.sqrtm`` as pytorch-fid 0.3.0 and
clean-fid do (``method="scipy"``, for parity).

Gradient (derived in Kynkaanniemi et al., "The Role of ImageNet Classes in Frechet Inception
Distance", ICLR 2023; their reference code, kynkaat/role-of-imagenet-classes-in-fid, uses
autograd instead). For FD(mu, S) to a fixed reference N(mu_r, S_r):

- dFD/dmu = 2 (mu - mu_r)
- dFD/dS  = I - T, with T = R (R S R)^(-1/2) R, R = S_r^(1/2): the optimal-transport map from
  N(S) to N(S_r) (T S T = S_r).

:class:`FrechetReference` holds the reference with S_r^(1/2) computed once; :func:`add_one` /
:func:`remove_one` are the exact one-sample updates of unbiased statistics, and
:func:`feature_gradient` chains them (FID attribution, :mod:`iqa.explain`). ``ridge`` adds
``ridge * I`` to both covariances, which keeps every quantity finite when a covariance is singular
(fewer samples than dimensions, one-hot class features).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from iqa.errors import InputError
from iqa.stats.gaussian import float64_device

__all__ = [
    "FrechetMethod",
    "FrechetReference",
    "add_one",
    "feature_gradient",
    "frechet_distance",
    "remove_one",
    "sqrt_psd",
    "trace_sqrt_product",
    "warn_if_rank_deficient",
    "with_ridge",
]

FrechetMethod = Literal["eigh", "scipy"]


def _f64(t: torch.Tensor, device: torch.device | None = None) -> torch.Tensor:
    return t.to(float64_device(device if device is not None else t.device), torch.float64)


def sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    """Symmetric square root of a symmetric PSD matrix (symmetrised, eigenvalues clamped at 0)."""
    vals, vecs = torch.linalg.eigh((m + m.T) / 2)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def with_ridge(cov: torch.Tensor, ridge: float) -> torch.Tensor:
    """``cov + ridge * I`` (``cov`` itself when ridge is 0)."""
    return cov + ridge * torch.eye(cov.shape[0], dtype=cov.dtype, device=cov.device) if ridge else cov


def trace_sqrt_product(s1: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
    """Tr (S1 S2)^(1/2) for symmetric PSD S1, S2. Differentiable.

    S1 S2 has the eigenvalues of the symmetric PSD matrix L^T S1 L (S2 = L L^T, Cholesky), so the
    trace is the sum of square roots of ``eigvalsh`` of it: one Cholesky, two products and one
    symmetric eigenvalue solve (1.5 s for 2048-d on 2 CPU cores, vs 15 s for ``scipy.linalg.sqrtm``).
    A singular S2 (fewer samples than dimensions) falls back to S2^(1/2) from ``eigh``.
    """
    chol, info = torch.linalg.cholesky_ex(s2)
    r = chol if int(info) == 0 else sqrt_psd(s2)
    m = r.T @ s1 @ r
    vals = torch.linalg.eigvalsh((m + m.T) / 2)
    return vals.clamp_min(0).sqrt().sum()


def _trace_sqrt_scipy(s1: np.ndarray, s2: np.ndarray, eps: float = 1e-6) -> float:
    """pytorch-fid's route: sqrtm(S1 S2); on non-finite output retry with eps*I; drop tiny imag."""
    from scipy import linalg

    covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise InputError(f"sqrtm returned a complex matrix (max imaginary {np.abs(covmean.imag).max():.3g})")
        covmean = covmean.real
    return float(np.trace(covmean))


def frechet_distance(
    mu1: torch.Tensor, s1: torch.Tensor, mu2: torch.Tensor, s2: torch.Tensor, *, method: FrechetMethod = "eigh"
) -> torch.Tensor:
    """Frechet distance between N(mu1, S1) and N(mu2, S2): a float64 scalar on ``mu1``'s device.

    Args:
        mu1: mean (d,) of the first Gaussian.
        s1: covariance (d, d) of the first Gaussian.
        mu2: mean of the second Gaussian (moved to the first one's device).
        s2: covariance of the second Gaussian.
        method: ``"eigh"`` (default: symmetric eigenvalue route, stable and differentiable) or
            ``"scipy"`` (``scipy.linalg.sqrtm`` as pytorch-fid and clean-fid do, for parity; on the CPU).
            The two agree to ~1e-14 relative on 2048-d covariances (tests/stats/test_stats.py).
    """
    dev = float64_device(mu1.device)
    mu1, s1, mu2, s2 = (_f64(t, dev) for t in (mu1, s1, mu2, s2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.numel(), mu1.numel()):
        raise InputError(
            f"shapes do not match: mu {tuple(mu1.shape)}/{tuple(mu2.shape)}, sigma {tuple(s1.shape)}/{tuple(s2.shape)}"
        )
    diff = (mu1 - mu2).square().sum()
    if method == "eigh":
        tr = trace_sqrt_product(s1, s2)
    elif method == "scipy":
        scipy_tr = _trace_sqrt_scipy(s1.detach().cpu().numpy(), s2.detach().cpu().numpy())
        tr = torch.tensor(scipy_tr, dtype=torch.float64, device=dev)
    else:
        raise InputError(f"method must be 'eigh' or 'scipy', got {method!r}")
    return diff + torch.trace(s1) + torch.trace(s2) - 2 * tr


def warn_if_rank_deficient(n: int, dim: int, what: str) -> None:
    """Warn when ``n <= dim``: the covariance is singular and the Frechet distance biased upwards."""
    if n <= dim:
        warnings.warn(
            f"{what}: {n} samples for {dim}-dimensional features; the covariance has rank <= {n - 1}, so "
            "the Frechet distance is strongly biased and not comparable with values from more samples "
            f"(use >= {dim + 1}, ideally 10k-50k)",
            stacklevel=3,
        )


@dataclass
class FrechetReference:
    """The reference side N(mu_r, S_r) with S_r^(1/2) computed once (it is reused at every step).

    Attributes:
        mean: mu_r (d,), float64.
        cov: S_r (d, d) with the ridge added.
        sqrt_cov: S_r^(1/2).
        ridge: added to the diagonal of every covariance compared with this reference.
    """

    mean: torch.Tensor
    cov: torch.Tensor
    sqrt_cov: torch.Tensor
    ridge: float = 0.0

    @classmethod
    def build(cls, mean: torch.Tensor, cov: torch.Tensor, ridge: float = 0.0) -> FrechetReference:
        """The reference N(mean, cov) (+ ``ridge`` I), on ``mean``'s device."""
        mean = _f64(mean)
        cov = _f64(cov, mean.device)
        if cov.shape != (mean.numel(), mean.numel()):
            raise InputError(f"reference covariance {tuple(cov.shape)} does not match mean {tuple(mean.shape)}")
        cov = with_ridge(cov, ridge)
        return cls(mean, cov, sqrt_psd(cov), ridge)

    def _spectrum(self, cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m = self.sqrt_cov @ with_ridge(_f64(cov, self.mean.device), self.ridge) @ self.sqrt_cov
        return torch.linalg.eigh((m + m.T) / 2)

    def distance(self, mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
        """FD to N(mean, cov) (ridge applied to cov too); differentiable through eigh."""
        vals, _ = self._spectrum(cov)
        tr = vals.clamp_min(0).sqrt().sum()
        cov_r = with_ridge(_f64(cov, self.mean.device), self.ridge)
        mean = _f64(mean, self.mean.device)
        return (mean - self.mean).square().sum() + torch.trace(cov_r) + torch.trace(self.cov) - 2 * tr

    def gradients(self, mean: torch.Tensor, cov: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(FD, dFD/dmean, dFD/dcov) at N(mean, cov), without autograd.

        Eigenvalues of R S R below 1e-12 of the largest are treated as zero in (R S R)^(-1/2)
        (a pseudo-inverse): their directions are then in the null space of R and cancel.
        """
        mean = _f64(mean, self.mean.device)
        vals, vecs = self._spectrum(cov)
        vals = vals.clamp_min(0)
        keep = vals > vals.max() * 1e-12
        inv_sqrt = torch.where(keep, vals.clamp_min(1e-300).rsqrt(), torch.zeros_like(vals))
        t = self.sqrt_cov @ ((vecs * inv_sqrt) @ vecs.T) @ self.sqrt_cov
        cov_r = with_ridge(_f64(cov, self.mean.device), self.ridge)
        fd = (mean - self.mean).square().sum() + torch.trace(cov_r) + torch.trace(self.cov) - 2 * vals.sqrt().sum()
        eye = torch.eye(mean.numel(), dtype=torch.float64, device=mean.device)
        return fd, 2 * (mean - self.mean), eye - (t + t.T) / 2


def add_one(mean: torch.Tensor, cov: torch.Tensor, n: int, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Statistics of n samples plus one feature vector ``f``: the exact unbiased (n + 1)-sample ones.

    mean' = n/(n+1) mean + f/(n+1); cov' = (n-1)/n cov + 1/(n+1) (f - mean)(f - mean)^T, with the
    *old* mean, as the reference's "N - 1 + 1" set-up. Differentiable in ``f``.
    """
    if n < 2:
        raise InputError(f"adding a sample needs statistics of at least 2 samples, got {n}")
    f = _f64(f, mean.device)
    d = f - mean
    return mean * (n / (n + 1)) + f / (n + 1), cov * ((n - 1) / n) + torch.outer(d, d) / (n + 1)


def remove_one(mean: torch.Tensor, cov: torch.Tensor, n: int, f: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`add_one`: statistics of the n samples without ``f`` (which must be one of them)."""
    if n < 3:
        raise InputError(f"leaving one sample out needs at least 3 samples, got {n}")
    f = _f64(f, mean.device)
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
    d = _f64(f, mean.device) - mean
    return fd, g_mean / (n + 1) + 2 * (g_cov @ d) / (n + 1)
