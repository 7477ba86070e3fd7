"""Features of a folder's images: batched extraction with threaded decoding, and on-disk caches.

Used by ``iqa.compare`` (features only) and by explanations and attacks (features with the names
of the images they belong to). A cache entry is keyed by the extractor's ``cache_key()`` and the
sha256 of every file's relative path and bytes, so a changed, added or removed file invalidates it.
Mixed image sizes are batched by size (the extractors resize internally).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch

from iqa.atomic import atomic_write
from iqa.errors import InputError
from iqa.features.base import FeatureExtractor
from iqa.io.folders import list_images
from iqa.io.images import array_to_tensor, decode_image

Progress = Callable[[str, int, int], None]

__all__ = ["FolderFeatures", "extract_folder", "extract_folder_named", "folder_features", "folder_fingerprint"]


def folder_fingerprint(root: Path, files: list[str]) -> str:
    """sha256 over (relative path, file bytes) of every file, in order."""
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.encode("utf-8") + b"\0")
        with open(root / rel, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def cache_entry(
    cache_dir: str | os.PathLike[str], kind: str, extractor_key: str, fingerprint: str, suffix: str
) -> Path:
    """``cache_dir/kind/<hash of extractor and folder>.suffix``."""
    key = hashlib.sha256(f"{extractor_key}|{fingerprint}".encode()).hexdigest()[:32]
    return Path(cache_dir) / kind / f"{key}{suffix}"


def save_npy(path: Path, arr: np.ndarray) -> None:
    """``np.save`` to ``path`` atomically."""

    def write(f: IO[bytes]) -> None:
        np.save(f, arr)

    atomic_write(path, write)


def extract_folder(root: Path, extractor: FeatureExtractor, **opts: Any) -> tuple[torch.Tensor, list[str]]:
    """Features (N, dim) of every readable image in ``root``, in natural order, and the failures
    (options as :func:`extract_folder_named`).
    """
    feats, _, failed = extract_folder_named(root, extractor, **opts)
    return feats, failed


def _load(root: Path, rel: str, max_pixels: int | None) -> torch.Tensor | str:
    try:
        return array_to_tensor(decode_image(root / rel, max_pixels=max_pixels))
    except (OSError, ValueError) as e:
        return str(e)


def _run_chunk(
    extractor: FeatureExtractor, chunk: list[torch.Tensor | str], device: torch.device | str, failed: list[str]
) -> dict[int, torch.Tensor]:
    """Features of the decoded images of one chunk by index (same-size images share a forward pass)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    images: dict[int, torch.Tensor] = {}
    for i, t in enumerate(chunk):
        if isinstance(t, str):
            failed.append(t)
        else:
            images[i] = t
            groups.setdefault(tuple(t.shape), []).append(i)
    out: dict[int, torch.Tensor] = {}
    for idx in groups.values():
        with torch.inference_mode():
            f = extractor(torch.stack([images[i] for i in idx]).to(device)).to("cpu", torch.float64)
        out.update({i: f[j] for j, i in enumerate(idx)})
    return out


def extract_folder_named(
    root: Path,
    extractor: FeatureExtractor,
    *,
    batch_size: int = 32,
    workers: int = 2,
    device: torch.device | str = "cpu",
    recursive: bool = False,
    max_pixels: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, list[str], list[str]]:
    """(features (N, dim) float64 on the CPU, the N relative names they belong to, failure messages).

    Images are decoded by ``workers`` threads one chunk ahead of the extractor, which runs on
    ``device``; features come back to the CPU (they are cached and written there).
    """
    files = list_images(root, recursive=recursive)
    if not files:
        raise InputError(f"{root}: no image files found")
    feats: dict[int, torch.Tensor] = {}
    failed: list[str] = []
    starts = list(range(0, len(files), batch_size))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        # decode the next chunk while the extractor runs on this one
        pending = [pool.submit(_load, root, f, max_pixels) for f in files[0:batch_size]]
        for n, start in enumerate(starts):
            chunk = [p.result() for p in pending]
            nxt = starts[n + 1] if n + 1 < len(starts) else None
            pending = (
                [pool.submit(_load, root, f, max_pixels) for f in files[nxt : nxt + batch_size]]
                if nxt is not None
                else []
            )
            feats.update({start + i: f for i, f in _run_chunk(extractor, chunk, device, failed).items()})
            if progress:
                progress(min(start + batch_size, len(files)), len(files))
    kept = sorted(feats)
    if not kept:
        raise InputError(f"{root}: no readable images ({len(failed)} failed: {failed[:3]})")
    return torch.stack([feats[i] for i in kept]), [files[i] for i in kept], failed


@dataclass
class FolderFeatures:
    """Features (N, dim) of a folder's readable images, their relative names, and the failures."""

    features: torch.Tensor
    names: list[str]
    failed: list[str]


def folder_features(
    root: Path,
    extractor: FeatureExtractor,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Progress | None = None,
    label: str = "",
    **opts: Any,
) -> FolderFeatures:
    """Features and names of a folder's images, from the cache when the same files were seen.

    ``opts`` are those of :func:`extract_folder_named` (batch_size, workers, device, ...).
    """
    root = Path(root)
    entry = None
    if cache_dir:
        fp = folder_fingerprint(root, list_images(root, recursive=opts.get("recursive", False)))
        # max_pixels decides which files fail (not the features of the others): part of the key.
        key = f"{extractor.cache_key()}|max_pixels={opts.get('max_pixels')}"
        entry = cache_entry(cache_dir, "explain", key, fp, ".npz")
        if entry.exists():
            with np.load(entry) as z:
                failed = [str(f) for f in z["failed"]] if "failed" in z.files else []
                return FolderFeatures(torch.from_numpy(z["features"]), [str(n) for n in z["names"]], failed)
    cb = (lambda d, t: progress(label, d, t)) if progress else None
    feats, names, failed = extract_folder_named(root, extractor, progress=cb, **opts)
    if entry is not None:
        # The fingerprint hashes every file, unreadable ones included: the same files fail again,
        # so their failures are cached with the features (a folder with one broken file is not
        # extracted again on every run).
        feats_np, names_np, failed_np = feats.numpy(), np.array(names), np.array(failed, dtype=str)

        def write(f: IO[bytes]) -> None:
            np.savez(f, features=feats_np, names=names_np, failed=failed_np)

        atomic_write(entry, write)
    return FolderFeatures(feats, names, failed)
