"""Features of a folder's images with their names, cached on disk (explanations and attacks)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from iqa.api.comparison import extract_folder_named, folder_fingerprint
from iqa.features.base import FeatureExtractor
from iqa.io.folders import list_images

Progress = Callable[[str, int, int], None]


@dataclass
class FolderFeatures:
    features: torch.Tensor
    names: list[str]
    failed: list[str]


def folder_features(
    root: Path,
    extractor: FeatureExtractor,
    *,
    cache_dir: str | os.PathLike | None = None,
    progress: Progress | None = None,
    label: str = "",
    **opts,
) -> FolderFeatures:
    """Features and names of a folder's images, from the cache when the same files were seen."""
    root = Path(root)
    entry = None
    if cache_dir:
        fp = folder_fingerprint(root, list_images(root, recursive=opts.get("recursive", False)))
        key = hashlib.sha256(f"{extractor.cache_key()}|{fp}".encode()).hexdigest()[:32]
        entry = Path(cache_dir) / "explain" / f"{key}.npz"
        if entry.exists():
            with np.load(entry) as z:
                return FolderFeatures(torch.from_numpy(z["features"]), [str(n) for n in z["names"]], [])
    cb = (lambda d, t: progress(label, d, t)) if progress else None
    feats, names, failed = extract_folder_named(root, extractor, progress=cb, **opts)
    if entry is not None and not failed:
        entry.parent.mkdir(parents=True, exist_ok=True)
        tmp = entry.with_name(f"{entry.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, features=feats.numpy(), names=np.array(names))
        os.replace(tmp, entry)
    return FolderFeatures(feats, names, failed)
