"""Weights a user converts locally from a released checkpoint that cannot be redistributed or hashed
in advance (TANet, CONTRIQUE): stored as safetensors with a JSON record beside them.

``<dir>/converted/<name>.safetensors`` + ``<name>.json`` (source file name and sha256, the output's
sha256, the converter and its options). Lookup: ``$IQA_WEIGHTS_DIR`` folders, then the user cache.
A file whose hash differs from its record is an error (a corrupt or edited copy), never loaded.
Nothing here unpickles: sources are read with ``torch.load(weights_only=True)`` by the converters.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from iqa.atomic import atomic_write_bytes, atomic_write_json
from iqa.errors import WeightsHashError, WeightsNotFoundError
from iqa.weights.store import cache_dir, sha256_file


def _dirs() -> list[Path]:
    env = os.environ.get("IQA_WEIGHTS_DIR")
    out = [Path(d) / "converted" for d in env.split(os.pathsep) if d] if env else []
    return out + [cache_dir() / "converted"]


def save_converted(name: str, tensors: dict[str, torch.Tensor], *, source: Path, converter: str,
                   options: dict[str, Any], out_dir: Path | None = None) -> Path:  # fmt: skip
    """Write ``tensors`` as ``<name>.safetensors`` with its record; returns the file's path."""
    from safetensors.torch import save

    folder = out_dir or cache_dir() / "converted"
    path = atomic_write_bytes(folder / f"{name}.safetensors", save({k: v.contiguous() for k, v in tensors.items()}))
    record = {"name": name, "sha256": sha256_file(path), "source": Path(source).name, "source_sha256": sha256_file(Path(source)),
              "converter": converter, "options": options, "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}  # fmt: skip
    atomic_write_json(folder / f"{name}.json", record, indent=1)
    return path


def strip_module(state: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's state dict without DataParallel's ``module.`` prefix (and a ``state_dict`` wrapper)."""
    inner = state.get("state_dict", state)
    return {k[len("module.") :] if k.startswith("module.") else k: v for k, v in inner.items()}


def locate_converted(name: str) -> tuple[Path, dict[str, Any]] | None:
    """(path, record) of the first converted copy found, verified against its record; None if absent."""
    for d in _dirs():
        path, rec_path = d / f"{name}.safetensors", d / f"{name}.json"
        if path.is_file():
            if not rec_path.is_file():
                raise WeightsHashError(f"{path} has no record {rec_path.name} beside it; convert the checkpoint again")
            record = json.loads(rec_path.read_text())
            digest = sha256_file(path)
            if digest != record.get("sha256"):
                raise WeightsHashError(f"{path}: sha256 {digest} differs from its record {record.get('sha256')}; "
                                       "the file is corrupt or was edited: convert the checkpoint again")  # fmt: skip
            return path, record
    return None


def load_converted(name: str, *, how_to: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The verified tensors and record of ``name``; ``how_to`` (where to get the source, which command
    converts it) goes into the error when no converted copy exists.
    """
    from safetensors.torch import load_file

    found = locate_converted(name)
    if found is None:
        where = " or ".join(str(d) for d in _dirs())
        raise WeightsNotFoundError(f"converted weights {name!r} not found in {where}. {how_to}")
    return load_file(str(found[0])), found[1]


def read_release_checkpoint(source: Path, expected: str) -> dict[str, torch.Tensor]:
    """A released PyTorch checkpoint as a state dict, read with ``weights_only=True``; errors name the
    file and ``expected`` (the release file the user should have).
    """
    from iqa.errors import InputError, WeightsError
    from iqa.weights import load_torch_state

    if not source.is_file():
        raise InputError(f"{source}: no such checkpoint. {expected}")
    try:
        return load_torch_state(source)
    except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
        raise WeightsError(f"{source}: not a readable PyTorch checkpoint ({type(e).__name__}); {expected} It is read with "
                           "weights_only=True, so no code in it runs: a file that needs code to load is refused, not loaded unsafely") from e  # fmt: skip
