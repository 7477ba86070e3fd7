"""Features of a folder's (or any source's) images: batched extraction with threaded decoding, and on-disk caches.

Used by ``iqa.compare`` (features only) and by explanations and attacks (features with the names
of the images they belong to). A folder's cache entry is keyed by the extractor's ``cache_key()``
and the sha256 of every file's relative path and bytes, so a changed, added or removed file
invalidates it; tar shards and tables are keyed by :func:`source_fingerprint`.
Mixed image sizes are batched by size (the extractors resize internally).

Extraction runs in fixed chunks (:func:`feature_chunks`: consecutive runs of ``batch_size``
items). Every engine runs these same chunks (:func:`extract_chunk` for one,
:func:`iter_chunk_features` for a share of them), so a feature never depends on how the work was
split between processes.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

import numpy as np
import torch

from iqa.atomic import atomic_write
from iqa.errors import InputError, IQAError
from iqa.features.base import FeatureExtractor
from iqa.io.folders import list_images
from iqa.io.images import array_to_tensor, decode_image
from iqa.io.sources import FolderSource, Source

Progress = Callable[[str, int, int], None]
Decoded = torch.Tensor | str  # a (3, H, W) float image, or why it could not be read

__all__ = [
    "ChunkFeatures",
    "FolderFeatures",
    "decode_chunk",
    "extract_chunk",
    "extract_folder",
    "extract_folder_named",
    "extract_source",
    "feature_chunks",
    "folder_features",
    "folder_fingerprint",
    "iter_chunk_features",
    "source_fingerprint",
]


def folder_fingerprint(root: Path, files: list[str]) -> str:
    """sha256 over (relative path, file bytes) of every file, in order."""
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.encode("utf-8") + b"\0")
        with open(root / rel, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def source_fingerprint(source: Source, keys: Sequence[str]) -> str:
    """sha256 over a source's description, the size and mtime of the files it reads (its tar shards
    or table), and every item's key; for a table of image paths, each image file's size and mtime too.

    Unlike :func:`folder_fingerprint` no image bytes are read: shards and tables are rewritten, not
    edited in place, so a changed sample changes its file's size or mtime.
    """
    h = hashlib.sha256(json.dumps(source.describe(), sort_keys=True, default=str).encode("utf-8"))
    for f in _described_files(source.describe()):
        st = f.stat()
        h.update(f"{f}|{st.st_size}|{st.st_mtime_ns}\0".encode())
    paths = bool(keys) and isinstance(source.image(keys[0]), Path)  # a table of paths, not of bytes
    for k in keys:
        h.update(k.encode("utf-8") + b"\0")
        img = source.image(k) if paths else None
        if isinstance(img, Path):
            h.update(f"{img.stat().st_size}|{img.stat().st_mtime_ns}\0".encode() if img.exists() else b"missing\0")
    return h.hexdigest()


def _described_files(described: dict[str, object]) -> list[Path]:
    """The existing files named in a source's ``describe()`` (its shards, its table)."""
    names: list[object] = []
    for v in described.values():
        names += v if isinstance(v, (list, tuple)) else [v]
    return [Path(n) for n in names if isinstance(n, str) and n and Path(n).is_file()]


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


def feature_chunks(n: int, batch_size: int) -> list[range]:
    """Indices ``0..n-1`` cut into the consecutive chunks of ``batch_size`` that extraction runs.

    Every engine (one process, torchrun ranks, Ray actors) extracts these same chunks, so a
    feature's batch, and with it every bit of its value, never depends on how the work was split.

    Raises:
        InputError: ``batch_size`` below 1.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    return [range(s, min(s + batch_size, n)) for s in range(0, n, batch_size)]


def _load(source: Source, key: str, max_pixels: int | None) -> Decoded:
    try:
        return array_to_tensor(decode_image(source.image(key), max_pixels=max_pixels))
    except (IQAError, OSError, ValueError, MemoryError) as e:
        return str(e)


def decode_chunk(
    source: Source, keys: Sequence[str], pool: ThreadPoolExecutor, max_pixels: int | None = None
) -> list[Future[Decoded]]:
    """Start decoding ``keys`` of ``source`` in ``pool``: one future per key, a (3, H, W) float
    image or the message saying why it could not be read.
    """
    return [pool.submit(_load, source, k, max_pixels) for k in keys]


@dataclass
class ChunkFeatures:
    """Features of one chunk's readable images by position in the chunk, and the failure messages."""

    features: dict[int, torch.Tensor]
    failed: list[str]


def extract_chunk(
    source: Source,
    keys: Sequence[str],
    extractor: FeatureExtractor,
    *,
    device: torch.device | str = "cpu",
    max_pixels: int | None = None,
    workers: int = 2,
    decoded: list[Future[Decoded]] | None = None,
) -> ChunkFeatures:
    """Features (float64, on the CPU) of the readable images among ``keys`` (one chunk of
    :func:`feature_chunks`), by position in ``keys``, and why the others failed.

    Images are decoded by ``workers`` threads (or taken from ``decoded``, futures of
    :func:`decode_chunk` started earlier); images of one size share a forward pass on ``device``.
    """
    if decoded is None:
        with ThreadPoolExecutor(max(1, workers)) as pool:
            images = [f.result() for f in decode_chunk(source, keys, pool, max_pixels)]
    else:
        images = [f.result() for f in decoded]
    failed = [t for t in images if isinstance(t, str)]
    return ChunkFeatures(_forward(extractor, images, device), failed)


def _forward(extractor: FeatureExtractor, chunk: list[Decoded], device: torch.device | str) -> dict[int, torch.Tensor]:
    """Features of the decoded images of one chunk by index (same-size images share a forward pass)."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, t in enumerate(chunk):
        if not isinstance(t, str):
            groups.setdefault(tuple(t.shape), []).append(i)
    out: dict[int, torch.Tensor] = {}
    for idx in groups.values():
        batch = torch.stack([cast(torch.Tensor, chunk[i]) for i in idx])
        with torch.inference_mode():
            f = extractor(batch.to(device)).to("cpu", torch.float64)
        out.update({i: f[j] for j, i in enumerate(idx)})
    return out


def iter_chunk_features(
    source: Source,
    keys: Sequence[str],
    extractor: FeatureExtractor,
    *,
    batch_size: int = 32,
    workers: int = 2,
    device: torch.device | str = "cpu",
    max_pixels: int | None = None,
    chunks: Sequence[int] | None = None,
) -> Iterator[tuple[int, ChunkFeatures]]:
    """(chunk number, its features by index into ``keys``) for the chunks of :func:`feature_chunks`
    (only those numbered in ``chunks`` when given: a rank's or worker's share), in that order.

    The next chunk is decoded in ``workers`` threads while the extractor runs on this one.
    """
    cut = feature_chunks(len(keys), batch_size)
    todo = list(chunks) if chunks is not None else list(range(len(cut)))
    with ThreadPoolExecutor(max(1, workers)) as pool:

        def start(n: int) -> list[Future[Decoded]]:
            return decode_chunk(source, [keys[i] for i in cut[todo[n]]], pool, max_pixels) if n < len(todo) else []

        pending = start(0)
        for n, c in enumerate(todo):
            current, pending = pending, start(n + 1)  # decode the next chunk while this one runs
            out = extract_chunk(source, [keys[i] for i in cut[c]], extractor, device=device, decoded=current)
            yield c, ChunkFeatures({cut[c].start + i: f for i, f in out.features.items()}, out.failed)


def extract_source(
    source: Source,
    keys: Sequence[str],
    extractor: FeatureExtractor,
    *,
    batch_size: int = 32,
    workers: int = 2,
    device: torch.device | str = "cpu",
    max_pixels: int | None = None,
    chunks: Sequence[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[dict[int, torch.Tensor], list[str]]:
    """Features of ``keys`` of ``source`` by index into ``keys`` (readable ones only), and the failures.

    Runs the chunks of :func:`feature_chunks` (only those numbered in ``chunks`` when given), as
    :func:`iter_chunk_features`. ``progress(done, total)`` counts the items of the chunks run.
    """
    cut = feature_chunks(len(keys), batch_size)
    total = sum(len(cut[c]) for c in chunks) if chunks is not None else len(keys)
    feats: dict[int, torch.Tensor] = {}
    failed: list[str] = []
    done = 0
    runs = iter_chunk_features(
        source, keys, extractor, batch_size=batch_size, workers=workers, device=device, max_pixels=max_pixels,
        chunks=chunks,
    )  # fmt: skip
    for c, out in runs:
        feats.update(out.features)
        failed += out.failed
        done += len(cut[c])
        if progress:
            progress(done, total)
    return feats, failed


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
    feats, failed = extract_source(
        FolderSource(root, recursive=recursive),
        files,
        extractor,
        batch_size=batch_size,
        workers=workers,
        device=device,
        max_pixels=max_pixels,
        progress=progress,
    )
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
