"""Pure functions for distribution metrics: features -> statistics -> distance (not a metric).

- :class:`GaussianStats`: running mean and scatter in float64, merged batch by batch with Chan's
  parallel formula (exact, no E[x^2] - E[x]^2 cancellation), so statistics from many batches,
  files or processes combine to the same numbers as one ``np.cov(rowvar=False)`` (N - 1).
- :func:`frechet_distance`: ``|mu1 - mu2|^2 + Tr S1 + Tr S2 - 2 Tr (S1 S2)^(1/2)``, by default via
  the symmetric form ``Tr (L^T S1 L)^(1/2)`` (S2 = L L^T) with ``eigvalsh`` (eigenvalues clamped >= 0),
  or the pytorch-fid/clean-fid route through ``scipy.linalg.sqrtm`` for parity.
- :func:`mmd2_rbf`: Gaussian-RBF MMD^2 over blocks of rows, so 30k x 30k never allocates a
  30k^2 matrix (CMMD's reference formula, biased V-statistic by default).
- :func:`kid`: polynomial-kernel MMD over random subsets as torch-fidelity computes KID.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from iqa.errors import InputError


@dataclass
class GaussianStats:
    """Mean and scatter (sum of centred outer products) of feature vectors, float64."""

    dim: int
    n: int = 0
    mean: torch.Tensor = field(default=None)  # type: ignore[assignment]
    scatter: torch.Tensor = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.mean is None:
            self.mean = torch.zeros(self.dim, dtype=torch.float64)
        if self.scatter is None:
            self.scatter = torch.zeros(self.dim, self.dim, dtype=torch.float64)

    def update(self, features: torch.Tensor) -> GaussianStats:
        """Add a batch (B, dim) of features."""
        f = features.detach().to("cpu", torch.float64)
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise InputError(f"features must have shape (B, {self.dim}), got {tuple(f.shape)}")
        if f.shape[0] == 0:
            return self
        b_mean = f.mean(0)
        centred = f - b_mean
        return self.merge(GaussianStats(self.dim, f.shape[0], b_mean, centred.T @ centred))

    def merge(self, other: GaussianStats) -> GaussianStats:
        """Combine with statistics of other samples (Chan et al. 1979); returns self."""
        if other.n == 0:
            return self
        n = self.n + other.n
        delta = other.mean - self.mean
        self.scatter = self.scatter + other.scatter + torch.outer(delta, delta) * (self.n * other.n / n)
        self.mean = self.mean + delta * (other.n / n)
        self.n = n
        return self

    @property
    def cov(self) -> torch.Tensor:
        """Unbiased covariance (N - 1), as ``np.cov(rowvar=False)``."""
        if self.n < 2:
            raise InputError(f"a covariance needs at least 2 samples, got {self.n}")
        return self.scatter / (self.n - 1)

    def save_npz(self, path: str | Path) -> None:
        """pytorch-fid format: ``mu`` and ``sigma`` (plus ``n`` so merging stays exact)."""
        np.savez(path, mu=self.mean.numpy(), sigma=self.cov.numpy(), n=np.int64(self.n))

    @classmethod
    def load_npz(cls, path: str | Path) -> GaussianStats:
        """Read pytorch-fid/clean-fid ``.npz`` statistics (``mu``, ``sigma``; ``n`` if present)."""
        with np.load(path) as z:
            if "mu" not in z or "sigma" not in z:
                raise InputError(f"{path}: expected arrays 'mu' and 'sigma' (pytorch-fid format), found {list(z)}")
            mu, sigma = torch.from_numpy(z["mu"]).double(), torch.from_numpy(z["sigma"]).double()
            n = int(z["n"]) if "n" in z else 2  # unknown n: scatter chosen so that cov == sigma
        return cls(mu.numel(), n, mu, sigma * (n - 1))


def _sqrt_psd(m: torch.Tensor) -> torch.Tensor:
    vals, vecs = torch.linalg.eigh(m)
    return (vecs * vals.clamp_min(0).sqrt()) @ vecs.T


def trace_sqrt_product(s1: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
    """Tr (S1 S2)^(1/2) for symmetric PSD S1, S2. Differentiable.

    S1 S2 has the eigenvalues of the symmetric PSD matrix L^T S1 L (S2 = L L^T, Cholesky), so the
    trace is the sum of square roots of ``eigvalsh`` of it: one Cholesky, two products and one
    symmetric eigenvalue solve (1.5 s for 2048-d here, vs 15 s for ``scipy.linalg.sqrtm``). A
    singular S2 (fewer samples than dimensions) falls back to S2^(1/2) from ``eigh``.
    """
    chol, info = torch.linalg.cholesky_ex(s2)
    r = chol if int(info) == 0 else _sqrt_psd(s2)
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
    mu1: torch.Tensor, s1: torch.Tensor, mu2: torch.Tensor, s2: torch.Tensor, *, method: str = "eigh"
) -> torch.Tensor:
    """Frechet distance between N(mu1, S1) and N(mu2, S2), float64 scalar tensor.

    Args:
        method: ``"eigh"`` (default: symmetric eigenvalue route, stable and differentiable) or
            ``"scipy"`` (``scipy.linalg.sqrtm`` as pytorch-fid and clean-fid do, for parity).
            The two agree to ~1e-14 relative on 2048-d covariances (tests/metrics/gen/test_stats.py).
    """
    mu1, mu2, s1, s2 = (t.to(torch.float64) for t in (mu1, mu2, s1, s2))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.numel(), mu1.numel()):
        raise InputError(
            f"shapes do not match: mu {tuple(mu1.shape)}/{tuple(mu2.shape)}, sigma {tuple(s1.shape)}/{tuple(s2.shape)}"
        )
    diff = (mu1 - mu2).square().sum()
    if method == "eigh":
        tr = trace_sqrt_product(s1, s2)
    elif method == "scipy":
        tr = torch.tensor(_trace_sqrt_scipy(s1.detach().numpy(), s2.detach().numpy()), dtype=torch.float64)
    else:
        raise InputError(f"method must be 'eigh' or 'scipy', got {method!r}")
    return diff + torch.trace(s1) + torch.trace(s2) - 2 * tr


def warn_if_rank_deficient(n: int, dim: int, what: str) -> None:
    """Fewer samples than dimensions: the covariance is singular and FID is biased upwards."""
    if n <= dim:
        warnings.warn(
            f"{what}: {n} samples for {dim}-dimensional features; the covariance has rank <= {n - 1}, so "
            "the Frechet distance is strongly biased and not comparable with values from more samples "
            f"(use >= {dim + 1}, ideally 10k-50k)",
            stacklevel=3,
        )


def _rbf_block_sum(
    a: torch.Tensor, b: torch.Tensor, gamma: float, a_sq: torch.Tensor, b_sq: torch.Tensor
) -> torch.Tensor:
    d2 = a_sq[:, None] + b_sq[None, :] - 2 * (a @ b.T)  # norm expansion, unclamped, as the reference
    return torch.exp(-gamma * d2).sum()


def _kernel_mean(x: torch.Tensor, y: torch.Tensor, gamma: float, block: int, exclude_diag: bool) -> torch.Tensor:
    x_sq, y_sq = x.square().sum(1), y.square().sum(1)
    total = torch.zeros((), dtype=torch.float64)
    for i in range(0, x.shape[0], block):
        for j in range(0, y.shape[0], block):
            total += _rbf_block_sum(x[i : i + block], y[j : j + block], gamma, x_sq[i : i + block], y_sq[j : j + block])
    n, m = x.shape[0], y.shape[0]
    if exclude_diag:
        diag = torch.exp(-gamma * (2 * x_sq - 2 * x.square().sum(1)))  # the computed k(x_i, x_i)
        return (total - diag.sum()) / (n * (n - 1))
    return total / (n * m)


def mmd2_rbf(
    x: torch.Tensor, y: torch.Tensor, *, sigma: float = 10.0, biased: bool = True, block: int = 2048
) -> torch.Tensor:
    """MMD^2 with a Gaussian RBF kernel ``exp(-|a-b|^2 / (2 sigma^2))``, in float64 blocks.

    ``biased=True`` is the V-statistic (all pairs, diagonal included) of CMMD's reference code;
    ``biased=False`` drops the i == j terms of k_xx and k_yy.
    """
    x, y = x.to(torch.float64), y.to(torch.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise InputError(f"embeddings must be (n, d) and (m, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    if not biased and min(len(x), len(y)) < 2:
        raise InputError("the unbiased estimator needs at least 2 samples per set")
    gamma = 1.0 / (2 * sigma**2)
    kxx = _kernel_mean(x, x, gamma, block, exclude_diag=not biased)
    kyy = _kernel_mean(y, y, gamma, block, exclude_diag=not biased)
    kxy = _kernel_mean(x, y, gamma, block, exclude_diag=False)
    return kxx + kyy - 2 * kxy


def kid(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    degree: int = 3,
    coef0: float = 1.0,
    seed: int = 2020,
) -> tuple[float, float]:
    """KID: mean and (population) std of unbiased polynomial-kernel MMD^2 over random subsets.

    Subsets are drawn as torch-fidelity draws them (``RandomState(seed).choice(n, size,
    replace=False)``, first set then second, per subset), so equal features give equal values.
    A subset size larger than a set is reduced to the smaller set's size, with a warning.
    """
    a, b = x.detach().to("cpu", torch.float64).numpy(), y.detach().to("cpu", torch.float64).numpy()
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise InputError(f"KID needs at least 2 samples per set, got {len(a)} and {len(b)}")
    if m < subset_size:
        warnings.warn(f"KID subset size {subset_size} > samples ({len(a)}, {len(b)}); using {m}", stacklevel=2)
    gamma = 1.0 / a.shape[1]
    rng = np.random.RandomState(seed)
    vals = np.empty(subsets)
    for s in range(subsets):
        f1 = a[rng.choice(len(a), m, replace=False)]
        f2 = b[rng.choice(len(b), m, replace=False)]
        k11 = (f1 @ f1.T * gamma + coef0) ** degree
        k22 = (f2 @ f2.T * gamma + coef0) ** degree
        k12 = (f1 @ f2.T * gamma + coef0) ** degree
        vals[s] = (k11.sum() - np.trace(k11) + k22.sum() - np.trace(k22)) / (m * (m - 1)) - 2 * k12.sum() / (m * m)
    return float(vals.mean()), float(vals.std())


def as_finite(value: torch.Tensor, what: str) -> float:
    v = float(value)
    if not math.isfinite(v):
        raise InputError(f"{what} is not finite ({v}); check the features for NaN/inf")
    return v
