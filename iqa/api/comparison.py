"""``iqa.compare``: distribution metrics between two image sets, with a shared feature cache.

Each side is a folder of images, a pytorch-fid ``.npz`` of statistics (Frechet metrics only), or
an ``.npy`` of features (N, dim) for the metrics' extractor. Features are computed once per
(extractor, folder) and shared by every metric that uses that extractor in the run; with a cache
directory they are stored on disk under a key made of the extractor's identity and the sha256 of
every file's relative path and bytes, so a changed, added or removed file invalidates the entry.
Mixed image sizes are batched by size (the extractors resize internally).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from iqa.api.core import create
from iqa.errors import InputError
from iqa.io.folders import list_images
from iqa.io.images import array_to_tensor, decode_image
from iqa.metrics.base import DistributionMetric
from iqa.metrics.gen._stats import GaussianStats


def folder_fingerprint(root: Path, files: list[str]) -> str:
    """sha256 over (relative path, file bytes) of every file, in order."""
    h = hashlib.sha256()
    for rel in files:
        h.update(rel.encode("utf-8") + b"\0")
        with open(root / rel, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _cache_paths(cache_dir: Path, extractor_key: str, fingerprint: str) -> Path:
    key = hashlib.sha256(f"{extractor_key}|{fingerprint}".encode()).hexdigest()[:32]
    return cache_dir / "features" / f"{key}.npy"


def _atomic_save(path: Path, arr: np.ndarray, meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
    path.with_suffix(".json").write_text(json.dumps(meta, indent=1))


def extract_folder(root: Path, extractor: torch.nn.Module, **opts: Any) -> tuple[torch.Tensor, list[str]]:
    """Features (N, dim) of every readable image in ``root``, in natural order, and the failures
    (options as :func:`extract_folder_named`).
    """
    feats, _, failed = extract_folder_named(root, extractor, **opts)
    return feats, failed


def extract_folder_named(
    root: Path,
    extractor: torch.nn.Module,
    *,
    batch_size: int = 32,
    workers: int = 2,
    device: str = "cpu",
    recursive: bool = False,
    max_pixels: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[torch.Tensor, list[str], list[str]]:
    """(features (N, dim), the N relative names they belong to, failure messages)."""
    files = list_images(root, recursive=recursive)
    if not files:
        raise InputError(f"{root}: no image files found")
    feats: list[torch.Tensor | None] = [None] * len(files)
    failed: list[str] = []

    def load(rel: str) -> torch.Tensor | str:
        try:
            return array_to_tensor(decode_image(root / rel, max_pixels=max_pixels))
        except (OSError, ValueError) as e:
            return str(e)

    starts = list(range(0, len(files), batch_size))
    with ThreadPoolExecutor(max(1, workers)) as pool:
        # decode the next chunk while the extractor runs on this one
        pending = [pool.submit(load, f) for f in files[0:batch_size]]
        for n, start in enumerate(starts):
            chunk = [p.result() for p in pending]
            nxt = starts[n + 1] if n + 1 < len(starts) else None
            pending = [pool.submit(load, f) for f in files[nxt : nxt + batch_size]] if nxt is not None else []
            groups: dict[tuple, list[int]] = {}
            for i, t in enumerate(chunk):
                if isinstance(t, str):
                    failed.append(t)
                else:
                    groups.setdefault(tuple(t.shape), []).append(i)
            for idx in groups.values():
                with torch.inference_mode():
                    out = extractor(torch.stack([chunk[i] for i in idx]).to(device)).to("cpu", torch.float64)
                for j, i in enumerate(idx):
                    feats[start + i] = out[j]
            if progress:
                progress(min(start + batch_size, len(files)), len(files))
    kept = [i for i, f in enumerate(feats) if f is not None]
    if not kept:
        raise InputError(f"{root}: no readable images ({len(failed)} failed: {failed[:3]})")
    return torch.stack([feats[i] for i in kept]), [files[i] for i in kept], failed


class _Side:
    """One side of a comparison and the features it yields per extractor."""

    def __init__(self, source: Any, name: str):
        self.source, self.name = source, name
        self.path = Path(source) if isinstance(source, (str, os.PathLike)) else None
        if self.path is not None and not self.path.exists():
            raise InputError(f"{name}: {self.path} does not exist (expected a folder, .npz or .npy)")
        self.failed: list[str] = []
        self._features: dict[str, torch.Tensor] = {}

    @property
    def kind(self) -> str:
        if isinstance(self.source, torch.Tensor):
            return "features" if self.source.ndim == 2 else "images"
        if self.path is None:
            raise InputError(
                f"{self.name}: expected a folder, .npz, .npy or a tensor, got {type(self.source).__name__}"
            )
        if self.path.is_dir():
            return "folder"
        return {".npz": "stats", ".npy": "features"}.get(self.path.suffix.lower(), "unknown")

    def features(self, extractor: torch.nn.Module, opts: dict) -> torch.Tensor:
        key = extractor.cache_key()
        if key in self._features:
            return self._features[key]
        kind = self.kind
        if kind == "features":
            f = self.source if isinstance(self.source, torch.Tensor) else torch.from_numpy(np.load(self.path))
        elif kind == "images":
            with torch.inference_mode():
                f = extractor(self.source.to(opts["device"]))
        elif kind == "folder":
            f = self._folder_features(extractor, opts)
        else:
            raise InputError(f"{self.name}: {self.source} is not a folder, .npy features or image tensor")
        if f.ndim != 2 or f.shape[1] != extractor.dim:
            raise InputError(f"{self.name}: features have shape {tuple(f.shape)}, {key} gives {extractor.dim}-d")
        self._features[key] = f.to(torch.float64)
        return self._features[key]

    def _folder_features(self, extractor: torch.nn.Module, opts: dict) -> torch.Tensor:
        path = self.path if self.path is not None else Path(".")  # kind == "folder" implies a path
        cache = opts.get("cache_dir")
        files = list_images(path, recursive=opts["recursive"])
        entry = _cache_paths(Path(cache), extractor.cache_key(), folder_fingerprint(path, files)) if cache else None
        if entry is not None and entry.exists():
            return torch.from_numpy(np.load(entry))
        progress = opts.get("progress")
        f, self.failed = extract_folder(
            path,
            extractor,
            batch_size=opts["batch_size"],
            workers=opts["workers"],
            device=opts["device"],
            recursive=opts["recursive"],
            max_pixels=opts["max_pixels"],
            progress=(lambda d, t: progress(self.name, d, t)) if progress else None,
        )
        if entry is not None and not self.failed:
            _atomic_save(entry, f.numpy(), {"folder": str(path), "extractor": extractor.cache_key(), "n": len(f)})
        return f


def compare(
    a: Any,
    b: Any,
    metrics: list[str] | tuple[str, ...] = ("fid",),
    *,
    options: dict[str, dict] | None = None,
    batch_size: int = 32,
    workers: int = 2,
    device: str = "cpu",
    cache_dir: str | os.PathLike | None = None,
    recursive: bool = False,
    max_pixels: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Distribution metrics between set ``a`` (treated as real/reference) and set ``b``.

    Returns:
        ``{metric: value, ..., "n_a": int, "n_b": int, "failed": [...]}``; KID also reports
        ``kid_std``.
    """
    options = options or {}
    built: dict[str, DistributionMetric] = {}
    for name in metrics:
        m = create(name, **options.get(name, {}))
        if not isinstance(m, DistributionMetric):
            raise InputError(f"{name} is a per-image metric; use `iqa score` for it")
        built[name] = m.to(device)
    opts = {
        "batch_size": batch_size,
        "workers": workers,
        "device": device,
        "cache_dir": cache_dir,
        "recursive": recursive,
        "max_pixels": max_pixels,
        "progress": progress,
    }
    sides = {True: _Side(a, "a"), False: _Side(b, "b")}
    shared: dict[str, torch.nn.Module] = {}
    result: dict[str, Any] = {}
    for name, m in built.items():
        key = m.extractor.cache_key()
        extractor = shared.setdefault(key, m.extractor)  # one extractor (and one pass) per key
        for real, side in sides.items():
            if side.kind == "stats":
                if not hasattr(m, "set_reference"):
                    raise InputError(f"{side.name}: .npz statistics only work with Frechet metrics, not {name}")
                if real:
                    m.set_reference(GaussianStats.load_npz(side.path))  # type: ignore[attr-defined]
                else:
                    m.fake = GaussianStats.load_npz(side.path)  # type: ignore[attr-defined]
                continue
            m.update_features(side.features(extractor, opts), real=real)  # type: ignore[attr-defined]
        if hasattr(m, "compute_with_std"):
            result[name], result[f"{name}_std"] = m.compute_with_std()  # type: ignore[attr-defined]
        else:
            result[name] = float(m.compute())
    result["n_a"] = next((len(f) for f in sides[True]._features.values()), None)
    result["n_b"] = next((len(f) for f in sides[False]._features.values()), None)
    result["failed"] = sides[True].failed + sides[False].failed
    return result
