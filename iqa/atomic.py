"""The one atomic writer of iqa: a crash or kill mid-write never leaves a truncated file behind.

Every file iqa writes (result tables, journals, caches, checkpoints, converted weights, reports)
goes through :func:`atomic_write`: the content is written to a temporary file in the destination
folder, flushed to disk, then renamed over the destination (``os.replace`` is atomic on POSIX and
Windows). A new file gets the usual permissions: the temporary file is created with mode ``0666``
and the kernel applies the umask and any default ACL, as for any new file (``mkstemp`` would give
``0600``, and changing the process umask to read it would race with other threads). A file that
is replaced keeps its mode, so an output a user made private stays private.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def _new_temp(dest: Path) -> tuple[int, Path]:
    """A new, empty file next to ``dest``, created with mode 0666 (the umask applies)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"{dest.parent}: could not create a temporary file for {dest.name}")


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(f)`` on a binary file object, then move the result to ``path`` atomically.

    Args:
        path: destination; its folder is created if needed.
        write: fills the open temporary file.

    Returns:
        The destination path.
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = _new_temp(dest)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        if dest.is_file():
            os.chmod(tmp, stat.S_IMODE(dest.stat().st_mode))
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""

    def write(f: IO[bytes]) -> None:
        f.write(data)

    return atomic_write(path, write)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], obj: Any, indent: int | None = 2) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(obj, indent=indent) + "\n")


def atomic_torch_save(path: str | os.PathLike[str], obj: Any) -> Path:
    """``torch.save`` to ``path`` atomically (checkpoints)."""
    import torch

    return atomic_write(path, lambda f: torch.save(obj, f))
