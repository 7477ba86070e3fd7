"""Checkpoints of the resampling attack: weights, optimiser state and history, written atomically
so a killed run resumes where it stopped (and refuses a checkpoint made with other settings).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import torch

from iqa.errors import InputError


def save(path: Path, key: dict, it: int, w: torch.Tensor, state: dict, history: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
    arrays = {k: v.numpy() for k, v in state.items() if isinstance(v, torch.Tensor)}
    scalars = {k: v for k, v in state.items() if not isinstance(v, torch.Tensor)}
    np.savez(
        tmp,
        w=w.numpy(),
        meta=np.array(json.dumps({"key": key, "iteration": it, "history": history, "state": scalars})),
        **{f"state_{k}": v for k, v in arrays.items()},
    )
    os.replace(tmp, path)


def load(path: Path, key: dict) -> tuple[int, torch.Tensor, dict, list[dict]]:
    """(iteration, weights, optimiser state, history); raises if the settings differ."""
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        if meta["key"] != key:
            diff = sorted(k for k in key if meta["key"].get(k) != key[k])
            raise InputError(f"{path} was written with other settings ({', '.join(diff)}); delete it or drop --resume")
        state = dict(meta["state"])
        state.update({k[len("state_") :]: torch.from_numpy(z[k]) for k in z.files if k.startswith("state_")})
        return int(meta["iteration"]), torch.from_numpy(z["w"]), state, meta["history"]
