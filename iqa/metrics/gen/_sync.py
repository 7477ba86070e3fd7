"""Synchronise distribution-metric state across processes with ``torch.distributed``.

Under ``torchrun`` (gloo or nccl), each process updates its metric with its share of the images;
``compute()`` then gathers every rank's state in rank order, so all ranks return the same value as
one process that saw the ranks' data concatenated. Nothing happens when torch.distributed is not
initialised or has one process. Local state is never modified by a gather.
"""

from __future__ import annotations

import torch

from iqa.metrics.gen._stats import GaussianStats


def world() -> int:
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _device() -> torch.device:
    dist = torch.distributed
    if dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def _all_gather(t: torch.Tensor) -> list[torch.Tensor]:
    dev = _device()
    out = [torch.empty_like(t, device=dev) for _ in range(world())]
    torch.distributed.all_gather(out, t.to(dev).contiguous())
    return [o.cpu() for o in out]


def gather_features(f: torch.Tensor) -> torch.Tensor:
    """Concatenate (n_r, d) features of all ranks in rank order (sizes may differ)."""
    if world() == 1:
        return f
    sizes = _all_gather(torch.tensor([f.shape[0]], dtype=torch.int64))
    longest = int(max(s.item() for s in sizes))
    padded = torch.zeros(longest, f.shape[1], dtype=torch.float64)
    padded[: f.shape[0]] = f.to(torch.float64)
    parts = _all_gather(padded)
    return torch.cat([p[: int(s.item())] for p, s in zip(parts, sizes)])


def gather_stats(s: GaussianStats) -> GaussianStats:
    """Merge the Gaussian statistics of all ranks (exact, Chan's formula) in rank order."""
    if world() == 1:
        return s
    ns = _all_gather(torch.tensor([s.n], dtype=torch.int64))
    means = _all_gather(s.mean.to(torch.float64))
    scatters = _all_gather(s.scatter.to(torch.float64))
    merged = GaussianStats(s.dim)
    for n, mean, scatter in zip(ns, means, scatters):
        merged.merge(GaussianStats(s.dim, int(n.item()), mean, scatter))
    return merged
