"""Checkpoints and resume, one rule for every long run (training loops, attacks).

A checkpoint is written atomically (:mod:`iqa.atomic`), so a run killed mid-write keeps its last
complete checkpoint. It carries a ``key``: the settings that change the result (a config as a
dict). Resuming is explicit: an existing checkpoint without ``resume`` is an error (an earlier
run is never overwritten by accident), and a checkpoint written with other settings is refused,
naming the settings that differ.

Two formats:

- :func:`save_checkpoint` / :func:`load_checkpoint`: a ``torch.save`` dict ``{"key": ..., **state}``,
  read back with ``weights_only=True`` (tensors, numbers, strings, lists and dicts only);
- :func:`save_array_checkpoint` / :func:`load_array_checkpoint`: a NumPy ``.npz`` of named arrays
  plus JSON metadata, for state that is arrays and plain values (no pickle at all).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iqa.atomic import atomic_torch_save, atomic_write
from iqa.errors import InputError

PathLike = str | os.PathLike[str]
_META = "__meta__"


def check_settings(path: PathLike, saved: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Raise :class:`InputError` naming the settings in which ``saved`` and ``current`` differ."""
    saved, current = _plain(saved), _plain(current)
    if saved == current:
        return
    changed = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    raise InputError(f"{path} was written with other settings ({', '.join(changed)}); delete it or drop --resume")


def existing(path: PathLike, *, resume: bool) -> bool:
    """Whether ``path`` holds a checkpoint to resume; an existing one without ``resume`` is an error."""
    path = Path(path)
    if not path.exists():
        return False
    if not resume:
        raise InputError(
            f"{path} exists from an earlier run: pass --resume (resume=True) to continue it, or delete it / use another output"
        )
    return True


def save_checkpoint(path: PathLike, key: Mapping[str, Any], state: Mapping[str, Any]) -> Path:
    """Write ``{"key": key, **state}`` with ``torch.save``, atomically."""
    if "key" in state:
        raise InputError("checkpoint state may not have its own 'key' entry")
    return atomic_torch_save(path, {"key": _plain(key), **state})


def load_checkpoint(path: PathLike, key: Mapping[str, Any], *, resume: bool) -> dict[str, Any] | None:
    """The state saved by :func:`save_checkpoint` (without ``key``), or None when there is none yet.

    Raises:
        InputError: a checkpoint exists but ``resume`` is False, or it was written with other settings.
    """
    if not existing(path, resume=resume):
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a torn or foreign file gets a message naming it
        raise InputError(f"{path}: not a readable checkpoint ({type(e).__name__}: {e}); delete it") from None
    if not isinstance(state, dict) or "key" not in state:
        raise InputError(f"{path}: not an iqa checkpoint (no settings key); delete it")
    check_settings(path, state.pop("key"), key)
    return state


def save_array_checkpoint(
    path: PathLike, key: Mapping[str, Any], arrays: Mapping[str, np.ndarray | torch.Tensor], meta: Mapping[str, Any]
) -> Path:
    """Named arrays and JSON-able ``meta`` in one ``.npz`` (no pickle), with the settings ``key``."""
    plain = {k: (v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)) for k, v in arrays.items()}
    if _META in plain:
        raise InputError(f"array name {_META!r} is reserved")
    named: dict[str, Any] = {_META: np.array(json.dumps({"key": _plain(key), "meta": _plain(meta)})), **plain}
    return atomic_write(path, lambda f: np.savez(f, **named))


def load_array_checkpoint(path: PathLike, key: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(arrays as tensors, meta) of :func:`save_array_checkpoint`; other settings are refused."""
    with np.load(path, allow_pickle=False) as z:
        if _META not in z.files:
            raise InputError(f"{path}: not an iqa checkpoint (no settings header); delete it")
        header = json.loads(str(z[_META]))
        check_settings(path, header["key"], key)
        arrays = {k: torch.from_numpy(z[k]) for k in z.files if k != _META}
    return arrays, header["meta"]


def _plain(obj: Any) -> Any:
    """Tuples as lists, recursively: what the settings look like after a JSON or torch round trip."""
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
