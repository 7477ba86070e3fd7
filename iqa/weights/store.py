"""Locate, verify, download and import weight files (see :mod:`iqa.weights`)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from iqa.atomic import atomic_write
from iqa.errors import DownloadError, WeightsError, WeightsHashError, WeightsNotFoundError
from iqa.weights.manifest import WeightSpec, get_weight_spec, load_manifest

_VERIFIED: dict[tuple[str, int, int], str] = {}


def cache_dir() -> Path:
    """User cache for weights: ``$IQA_CACHE_DIR/weights`` or the platform cache dir."""
    base = os.environ.get("IQA_CACHE_DIR")
    if base:
        return Path(base) / "weights"
    import platformdirs

    return Path(platformdirs.user_cache_dir("iqa")) / "weights"


def sha256_file(path: Path) -> str:
    """sha256 of a file, memoised per (path, size, mtime) within the process."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _VERIFIED[key] = h.hexdigest()
    return _VERIFIED[key]


def recorded_hash_path(path: Path) -> Path:
    """The sidecar ``<file>.sha256`` holding the full digest recorded when ``path`` was installed."""
    return path.with_name(path.name + ".sha256")


def recorded_hash(path: Path) -> str:
    """The digest recorded beside ``path`` ("" when none was)."""
    side = recorded_hash_path(path)
    return side.read_text(encoding="ascii").strip() if side.is_file() else ""


def record_hash(path: Path, digest: str) -> None:
    """Record ``digest`` beside ``path`` (best effort: a read-only folder keeps no record)."""

    def write(f: IO[bytes]) -> None:
        f.write(digest.encode("ascii") + b"\n")

    try:
        atomic_write(recorded_hash_path(path), write)
    except OSError:
        pass


def hash_ok(path: Path, spec: WeightSpec, digest: str) -> bool:
    """Whether ``digest`` (of ``path``) is right for ``spec``.

    The manifest's hash or prefix decides where there is one. For entries whose upstream publishes
    no hash (``hash_unpublished``), the digest recorded when the file was downloaded or imported
    decides (trust on first use); a file put in place by hand is recorded the first time it is used.
    A recorded digest is also checked for prefix-only entries, so a later change is caught.
    """
    recorded = recorded_hash(path)
    if recorded and recorded != digest:
        return False
    if spec.expected_hash:
        return spec.hash_matches(digest)
    if not recorded:
        record_hash(path, digest)
    return True


def verify_file(path: Path, spec: WeightSpec) -> Path:
    """Raise :class:`WeightsHashError` unless ``path`` has the manifest's (or the recorded) hash."""
    digest = sha256_file(path)
    if not hash_ok(path, spec, digest):
        expected = recorded_hash(path) if spec.hash_recorded else spec.expected_hash
        raise WeightsHashError(
            f"{path}: sha256 {digest} does not match {spec.id!r} (expected {expected}); "
            "the file is corrupt, truncated, changed since it was installed or a different version. "
            f"Delete it and fetch again with `iqa weights fetch {spec.id}`"
        )
    return path


def weights_dirs() -> list[Path]:
    """The folders of ``$IQA_WEIGHTS_DIR`` (``os.pathsep``-separated), in order."""
    env = os.environ.get("IQA_WEIGHTS_DIR", "")
    return [Path(d) for d in env.split(os.pathsep) if d]


def packaged_path(spec: WeightSpec) -> Path | None:
    """Where the dependency named by ``spec.packaged`` installed its copy (found without importing it)."""
    if not spec.packaged:
        return None
    import importlib.util

    try:
        found = importlib.util.find_spec(spec.packaged_module)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations))) / spec.packaged.split("/", 1)[1]


def _candidates(spec: WeightSpec) -> list[tuple[Path, str]]:
    """(path, where) in resolution order: weights dirs, the user cache, a dependency's copy."""
    out = [(d / spec.filename, "IQA_WEIGHTS_DIR") for d in weights_dirs()]
    out.append((cache_dir() / spec.filename, "cache"))
    pkg = packaged_path(spec)
    if pkg is not None:
        out.append((pkg, "packaged"))
    return out


def locate(spec: WeightSpec) -> Path | None:
    """First existing local copy (``$IQA_WEIGHTS_DIR``, cache, packaged), verified; None if absent."""
    for p, _ in _candidates(spec):
        if p.is_file():
            return verify_file(p, spec)
    return None


@dataclass(frozen=True)
class LocalStatus:
    """What is on this machine for one manifest entry.

    Attributes:
        status: ``"ok"``, ``"BAD HASH"`` or ``"missing"``.
        path: the file that was checked ("" when missing).
        where: ``IQA_WEIGHTS_DIR``, ``cache`` or ``packaged`` (installed with the dependency ``spec.packaged`` names).
        digest: its sha256 ("" when missing).
    """

    status: str
    path: str = ""
    where: str = ""
    digest: str = ""


def local_status(spec: WeightSpec) -> LocalStatus:
    """The first local copy in resolution order and whether its hash matches (as :func:`locate`)."""
    for p, where in _candidates(spec):
        if p.is_file():
            digest = sha256_file(p)
            return LocalStatus("ok" if hash_ok(p, spec, digest) else "BAD HASH", str(p), where, digest)
    return LocalStatus("missing")


def offline() -> bool:
    """True when IQA_OFFLINE forbids downloads (1, true, yes, on)."""
    return os.environ.get("IQA_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def _not_found(spec: WeightSpec, reason: str) -> WeightsNotFoundError:
    dirs = weights_dirs()
    urls = " or ".join(spec.urls) or "(no public URL)"
    if dirs:  # the user chose where weights live: point there, not at the cache
        where = f"put it at {dirs[0] / spec.filename} (in IQA_WEIGHTS_DIR)"
    else:
        where = (
            f"either put it at {cache_dir() / spec.filename}, set IQA_WEIGHTS_DIR to a folder holding {spec.filename},"
        )
    return WeightsNotFoundError(
        f"weights {spec.id!r} ({spec.filename}) not found: {reason}. With network: `iqa weights fetch {spec.id}`. "
        f"Otherwise download {urls} (sha256 {spec.describe_hash()}) and {where} or run "
        f"`iqa weights import FILE{' --id ' + spec.id if spec.hash_recorded else ''}`"
    )


def resolve_weights(weight_id: str, path: str | os.PathLike | None = None, *, progress: bool | None = None) -> Path:
    """Return a verified local path for ``weight_id``, downloading it if allowed.

    Raises:
        WeightsHashError: a local copy exists but has another hash.
        WeightsNotFoundError: absent locally and offline, or every download failed.
    """
    spec = get_weight_spec(weight_id)
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise WeightsNotFoundError(f"{p}: no such weights file (given explicitly for {spec.id!r})")
        return verify_file(p, spec)
    found = locate(spec)
    if found is not None:
        return found
    if offline():
        raise _not_found(spec, "IQA_OFFLINE is set, so nothing is downloaded")
    try:
        return fetch(spec.id, progress=progress)
    except DownloadError as e:
        raise _not_found(spec, f"download failed ({e})") from e


def _progress_cb(
    spec: WeightSpec, total: int | None, enabled: bool
) -> tuple[Callable[[int], None], Callable[[], None]]:
    if not enabled:
        return (lambda n: None), (lambda: None)
    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    prog = Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn())
    prog.start()
    task = prog.add_task(f"fetch {spec.id}", total=total)
    return (lambda n: prog.advance(task, n)), prog.stop


def _download_to(url: str, spec: WeightSpec, dest: Path, progress: bool) -> None:
    """Stream ``url`` into ``dest`` atomically; a truncated or mismatching download installs nothing."""

    def write(out: IO[bytes]) -> None:
        h = hashlib.sha256()
        received = 0
        req = urllib.request.Request(url, headers={"User-Agent": "iqa-weights"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            advance, stop = _progress_cb(spec, total, progress)
            try:
                for block in iter(lambda: resp.read(1 << 16), b""):
                    out.write(block)
                    h.update(block)
                    received += len(block)
                    advance(len(block))
            finally:
                stop()
        if total is not None and received != total:
            raise DownloadError(f"{url}: truncated transfer, got {received} of {total} bytes")
        digest = h.hexdigest()
        if spec.expected_hash and not spec.hash_matches(digest):
            raise WeightsHashError(
                f"{url}: downloaded file has sha256 {digest}, expected {spec.expected_hash}; not installed"
            )
        got.append(digest)

    got: list[str] = []
    try:
        atomic_write(dest, write)
    except (DownloadError, WeightsHashError):
        raise
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise DownloadError(f"{url}: {e}") from e
    record_hash(dest, got[0])


def fetch(weight_id: str, *, progress: bool | None = None, force: bool = False) -> Path:
    """Download ``weight_id`` into the user cache (atomically, verified) and return its path."""
    spec = get_weight_spec(weight_id)
    dest = cache_dir() / spec.filename
    if dest.is_file() and not force:
        return verify_file(dest, spec)
    if force:
        recorded_hash_path(dest).unlink(missing_ok=True)  # a forced download records its own digest
    if not spec.urls:
        raise DownloadError(f"{spec.id!r} has no download URL")
    if progress is None:
        progress = sys.stderr.isatty()
    errors = []
    for url in spec.urls:
        try:
            _download_to(url, spec, dest, progress)
            return dest
        except (DownloadError, WeightsHashError) as e:
            errors.append(str(e))
    raise DownloadError("; ".join(errors))


def import_file(file: str | os.PathLike, weight_id: str | None = None) -> tuple[str, Path]:
    """Copy a downloaded file into the cache under the id whose hash it matches.

    An entry whose upstream publishes no hash (``hash_unpublished``) is imported only when named
    (``weight_id``): its digest is recorded then, and later uses check the file against it.

    Returns:
        (weights id, installed path).

    Raises:
        WeightsHashError: the hash matches no manifest entry (or not the given id).
    """
    src = Path(file)
    if not src.is_file():
        raise WeightsNotFoundError(f"{src}: no such file to import")
    digest = sha256_file(src)
    specs = [get_weight_spec(weight_id)] if weight_id else list(load_manifest().values())
    match = next((s for s in specs if s.hash_matches(digest) or (weight_id and s.hash_recorded)), None)
    if match is None:
        target = f"{weight_id!r}" if weight_id else "any manifest entry"
        hint = " (entries without a published hash are imported by name: `iqa weights import FILE --id ID`)"
        raise WeightsHashError(f"{src}: sha256 {digest} does not match {target}; see `iqa weights list`{hint}")
    dest = cache_dir() / match.filename
    with open(src, "rb") as f:
        atomic_write(dest, lambda out: shutil.copyfileobj(f, out))
    recorded_hash_path(dest).unlink(missing_ok=True)
    record_hash(dest, digest)
    return match.id, dest


def load_torch_state(path: Path) -> dict[str, Any]:
    """Load a legacy ``.pth``/``.pt`` state dict safely (``weights_only=True``).

    Raises:
        WeightsError: the file is not a readable PyTorch checkpoint (truncated download, another
            format, or pickled code that ``weights_only`` refuses), naming the file.
    """
    import pickle
    import zipfile

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError) as e:
        raise WeightsError(
            f"{path}: not a readable PyTorch checkpoint ({type(e).__name__}); it may be a truncated "
            "download or another format: fetch it again (`iqa weights fetch ID`) or pass the right file"
        ) from e
