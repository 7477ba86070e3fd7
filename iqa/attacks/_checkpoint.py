"""Checkpoints of the resampling attack, in the shared format of :mod:`iqa.io.checkpoints`.

Weights, optimiser state and history go to one ``.npz`` (atomic, no pickle), so a killed run
resumes where it stopped and a checkpoint made with other settings is refused.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.io.checkpoints import load_array_checkpoint, save_array_checkpoint


def save(path: Path, key: dict, it: int, w: torch.Tensor, state: dict, history: list[dict]) -> None:
    arrays = {"w": w, **{f"state_{k}": v for k, v in state.items() if isinstance(v, torch.Tensor)}}
    scalars = {k: v for k, v in state.items() if not isinstance(v, torch.Tensor)}
    save_array_checkpoint(path, key, arrays, {"iteration": it, "history": history, "state": scalars})


def load(path: Path, key: dict) -> tuple[int, torch.Tensor, dict, list[dict]]:
    """(iteration, weights, optimiser state, history); raises if the settings differ."""
    arrays, meta = load_array_checkpoint(path, key)
    state = dict(meta["state"])
    state.update({k[len("state_") :]: v for k, v in arrays.items() if k.startswith("state_")})
    return int(meta["iteration"]), arrays["w"], state, meta["history"]
