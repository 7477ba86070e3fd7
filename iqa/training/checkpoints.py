"""Atomic checkpoint writes for the training loops: a crash mid-write never leaves a truncated file."""

from __future__ import annotations

import os
from pathlib import Path

import torch


def atomic_torch_save(path: Path, state: dict) -> None:
    """``torch.save`` to a temporary file in the same folder, then an atomic rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)
