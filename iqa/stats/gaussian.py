"""Gaussian summary statistics of feature vectors: mean and scatter, merged exactly (Chan et al.).

:class:`GaussianStats` keeps the running mean and the scatter matrix (sum of centred outer products)
in float64. Batches merge with the pairwise formula of Chan, Golub and LeVeque ("Updating formulae
and a pairwise algorithm for computing sample variances", 1979): exact, with no
E[x^2] - E[x]^2 cancellation, so statistics of many batches, files or processes combine to the
numbers of one ``np.cov(rowvar=False)`` (N - 1) over all rows.

Devices: the statistics live on the device of the features they were given (float64 there), and
move to the device of newer features when those arrive elsewhere. Apple's MPS has no float64, so
features from an MPS device are accumulated on the CPU (:func:`float64_device`).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
import torch

from iqa.atomic import atomic_write
from iqa.errors import InputError

__all__ = ["GaussianStats", "float64_device"]


def float64_device(device: torch.device | str) -> torch.device:
    """Where float64 statistics of data on ``device`` are kept: the device itself, the CPU for MPS.

    MPS (Apple GPUs) has no float64 tensors, and float32 sums lose the digits that make merged
    statistics exact, so MPS data is summarised on the CPU.
    """
    device = torch.device(device)
    return torch.device("cpu") if device.type == "mps" else device


class GaussianStats:
    """Mean and scatter of ``n`` feature vectors of dimension ``dim``, float64.

    Args:
        dim: feature dimension.
        n: number of samples summarised.
        mean: (dim,) mean (zeros when None).
        scatter: (dim, dim) sum of centred outer products (zeros when None); ``cov = scatter / (n - 1)``.
        device: where empty statistics start (the CPU by default); given tensors keep theirs.
        n_known: whether ``n`` is the true sample count (False for pytorch-fid files without ``n``).
    """

    def __init__(
        self,
        dim: int,
        n: int = 0,
        mean: torch.Tensor | None = None,
        scatter: torch.Tensor | None = None,
        *,
        device: torch.device | str | None = None,
        n_known: bool = True,
    ) -> None:
        if dim < 1:
            raise InputError(f"statistics need a feature dimension >= 1, got {dim}")
        dev = float64_device(device if device is not None else mean.device if mean is not None else "cpu")
        self.dim, self.n, self.n_known = int(dim), int(n), bool(n_known)
        self.mean = torch.zeros(dim, dtype=torch.float64, device=dev) if mean is None else mean.to(dev, torch.float64)
        self.scatter = (
            torch.zeros(dim, dim, dtype=torch.float64, device=dev)
            if scatter is None
            else scatter.to(dev, torch.float64)
        )
        if self.mean.shape != (dim,) or self.scatter.shape != (dim, dim):
            raise InputError(
                f"statistics of dimension {dim} need mean ({dim},) and scatter ({dim}, {dim}), "
                f"got {tuple(self.mean.shape)} and {tuple(self.scatter.shape)}"
            )

    def __repr__(self) -> str:
        n = self.n if self.n_known else "unknown"
        return f"GaussianStats(dim={self.dim}, n={n}, device={self.device})"

    @property
    def device(self) -> torch.device:
        """The device holding the statistics."""
        return self.mean.device

    def to(self, device: torch.device | str) -> GaussianStats:
        """A copy on ``device`` (self when it is there already)."""
        dev = float64_device(device)
        if dev == self.device:
            return self
        return GaussianStats(self.dim, self.n, self.mean.to(dev), self.scatter.to(dev), n_known=self.n_known)

    def clone(self) -> GaussianStats:
        """An independent copy (merging into it leaves this one unchanged)."""
        return GaussianStats(self.dim, self.n, self.mean.clone(), self.scatter.clone(), n_known=self.n_known)

    @classmethod
    def from_features(cls, features: torch.Tensor) -> GaussianStats:
        """Statistics of the rows of ``features`` (N, dim), on their device."""
        if features.ndim != 2:
            raise InputError(f"features must have shape (N, dim), got {tuple(features.shape)}")
        return cls(features.shape[1], device=features.device).update(features)

    def _follow(self, device: torch.device) -> None:
        """Move the state to ``device`` (the newest input's), so accumulation never pins a device."""
        if device != self.device:
            self.mean, self.scatter = self.mean.to(device), self.scatter.to(device)

    def update(self, features: torch.Tensor) -> GaussianStats:
        """Add a batch (B, dim) of features; returns self."""
        f = features.detach()
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise InputError(f"features must have shape (B, {self.dim}), got {tuple(f.shape)}")
        f = f.to(float64_device(f.device), torch.float64)
        self._follow(f.device)
        if f.shape[0] == 0:
            return self
        b_mean = f.mean(0)
        centred = f - b_mean
        return self.merge(GaussianStats(self.dim, f.shape[0], b_mean, centred.T @ centred))

    def merge(self, other: GaussianStats) -> GaussianStats:
        """Add the samples summarised by ``other`` (Chan et al. 1979, exact); returns self."""
        if other.dim != self.dim:
            raise InputError(f"cannot merge {other.dim}-d statistics into {self.dim}-d ones")
        if other.n == 0:
            return self
        o_mean, o_scatter = other.mean.to(self.device), other.scatter.to(self.device)
        n = self.n + other.n
        delta = o_mean - self.mean
        self.scatter = self.scatter + o_scatter + torch.outer(delta, delta) * (self.n * other.n / n)
        self.mean = self.mean + delta * (other.n / n)
        self.n, self.n_known = n, self.n_known and other.n_known
        return self

    @property
    def count(self) -> int | None:
        """The sample count, None when it is not known (``n_known`` is False)."""
        return self.n if self.n_known else None

    @property
    def cov(self) -> torch.Tensor:
        """Unbiased covariance (N - 1), as ``np.cov(rowvar=False)``."""
        if self.n < 2:
            raise InputError(f"a covariance needs at least 2 samples, got {self.n}")
        return self.scatter / (self.n - 1)

    def save_npz(self, path: str | Path) -> Path:
        """Write pytorch-fid's format, ``mu`` and ``sigma``, plus ``n`` so merging stays exact.

        The file is written atomically; ``.npz`` is appended to a name without it (as ``np.savez``).
        """
        dest = Path(path)
        if dest.suffix != ".npz":
            dest = dest.with_name(dest.name + ".npz")
        mu, sigma = self.mean.cpu().numpy(), self.cov.cpu().numpy()

        def write(f: IO[bytes]) -> None:
            np.savez(f, mu=mu, sigma=sigma, n=np.int64(self.n))

        return atomic_write(dest, write)

    @classmethod
    def load_npz(cls, path: str | Path, *, device: torch.device | str = "cpu") -> GaussianStats:
        """Read pytorch-fid / clean-fid ``.npz`` statistics (``mu``, ``sigma``; ``n`` if present).

        Without ``n`` the sample count is unknown (``n_known`` is False): it is taken as 2 with the
        scatter chosen so that ``cov == sigma``; such statistics give the right distance but merge
        as 2 samples.
        """
        with np.load(path) as z:
            if "mu" not in z or "sigma" not in z:
                raise InputError(f"{path}: expected arrays 'mu' and 'sigma' (pytorch-fid format), found {list(z)}")
            mu, sigma = torch.from_numpy(z["mu"]).double(), torch.from_numpy(z["sigma"]).double()
            known = "n" in z
            n = int(z["n"]) if known else 2
        if mu.ndim != 1 or sigma.shape != (mu.numel(), mu.numel()):
            raise InputError(f"{path}: mu {tuple(mu.shape)} and sigma {tuple(sigma.shape)} do not match")
        dev = float64_device(device)
        return cls(mu.numel(), n, mu.to(dev), sigma.to(dev) * (n - 1), n_known=known)
