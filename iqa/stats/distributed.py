"""Gather distribution statistics across processes with ``torch.distributed``.

Under ``torchrun`` (gloo or nccl), each process accumulates its share of the images; a metric's
``compute()`` then gathers every rank's state in rank order, so all ranks return the value of one
process that saw the ranks' data concatenated. Nothing happens when torch.distributed is not
initialised or has one process. Local state is never modified by a gather; gathered tensors come
back on the device of the local ones (they travel over the backend's device: CUDA for nccl, the
CPU for gloo).
"""

from __future__ import annotations

import torch

from iqa.stats.gaussian import GaussianStats

__all__ = ["gather_features", "gather_stats", "world"]


def world() -> int:
    """Number of processes (1 without an initialised process group)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _backend_device() -> torch.device:
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_gather(t: torch.Tensor) -> list[torch.Tensor]:
    dev = _backend_device()
    out = [torch.empty_like(t, device=dev) for _ in range(world())]
    torch.distributed.all_gather(out, t.to(dev).contiguous())
    return [o.to(t.device) for o in out]


def gather_features(f: torch.Tensor) -> torch.Tensor:
    """Concatenate the (n_rank, d) features of all ranks in rank order (sizes may differ), float64."""
    if world() == 1:
        return f
    sizes = _all_gather(torch.tensor([f.shape[0]], dtype=torch.int64, device=f.device))
    longest = int(max(int(s.item()) for s in sizes))
    padded = torch.zeros(longest, f.shape[1], dtype=torch.float64, device=f.device)
    padded[: f.shape[0]] = f.to(torch.float64)
    parts = _all_gather(padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes)])


def gather_stats(s: GaussianStats) -> GaussianStats:
    """Merge the Gaussian statistics of all ranks (exact, Chan's formula) in rank order."""
    if world() == 1:
        return s
    ns = _all_gather(torch.tensor([s.n], dtype=torch.int64, device=s.device))
    means = _all_gather(s.mean)
    scatters = _all_gather(s.scatter)
    merged = GaussianStats(s.dim, device=s.device)
    for n, mean, scatter in zip(ns, means, scatters):
        merged.merge(GaussianStats(s.dim, int(n.item()), mean, scatter))
    return merged
