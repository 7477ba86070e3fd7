"""Reference statistics and features in the formats other tools write, read and written exactly.

Formats (``detect_format`` tells them apart by suffix and arrays):

- ``pytorch_fid``: ``.npz`` with ``mu`` (dim,) and ``sigma`` (dim, dim) (pytorch-fid
  ``--save-stats``, TTUR); iqa adds ``n`` so merging stays exact (:meth:`GaussianStats.save_npz`).
- ``cleanfid``: the same arrays, written compressed (clean-fid ``make_custom_stats``);
  ``cleanfid_kid``: ``.npz`` with ``feats`` (N, dim), clean-fid's KID reference.
- ``adm``: the ADM evaluator's batches (openai/guided-diffusion ``evaluations/evaluator.py``):
  ``arr_0`` uint8 images (N, H, W, 3); reference batches add ``mu``/``sigma`` (pool_3, 2048-d) and
  ``mu_s``/``sigma_s`` (the ``mixed_6/conv`` spatial features, 2023-d).
- ``torch_fidelity``: torch-fidelity 0.4.0's cache (``<input>-<extractor>-stat-fid-<layer>.pt``, a
  dict of numpy ``mu``/``sigma`` saved with ``torch.save``; ``...-features-<layer>.pt``, a tensor).
  They are read without unpickling arbitrary objects (numpy arrays only are allowed).

:func:`read_reference` returns a :class:`ReferenceSet`: every statistic in the file by role
(``pool``; ``spatial`` for ADM), its features and its images, so a metric takes what its extractor
matches (:meth:`ReferenceSet.stats_for`, by dimension, never guessed between two of one size).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

import numpy as np
import torch

from iqa.atomic import atomic_write
from iqa.errors import InputError
from iqa.stats.gaussian import GaussianStats
from iqa.weights.manifest import ReferenceStatsSpec, get_reference_stats

__all__ = [
    "PUBLISHED_PREFIXES",
    "ReferenceSet",
    "ReferenceStatsSpec",
    "StatsFormat",
    "detect_format",
    "is_published_name",
    "open_published",
    "read_reference",
    "write_adm",
    "write_cleanfid",
    "write_cleanfid_kid",
    "write_pytorch_fid",
    "write_torch_fidelity",
]

StatsFormat = Literal["pytorch_fid", "cleanfid", "cleanfid_kid", "adm", "torch_fidelity", "npy"]


@dataclass
class ReferenceSet:
    """What one reference file holds.

    Attributes:
        path: the file.
        format: the detected (or declared) :data:`StatsFormat`.
        stats: Gaussian statistics by role: ``pool`` (FID's), ``spatial`` (ADM's sFID features).
        features: feature rows (N, dim), float64, where the file has them.
        image_shape: (N, H, W, 3) of the uint8 images the file holds (ADM batches), else None;
            :meth:`load_images` reads them (they can be gigabytes, so not before they are needed).
    """

    path: Path
    format: str
    stats: dict[str, GaussianStats] = field(default_factory=dict)
    features: torch.Tensor | None = None
    image_shape: tuple[int, ...] | None = None

    def load_images(self) -> np.ndarray:
        """The file's uint8 images (N, H, W, 3)."""
        if self.image_shape is None:
            raise InputError(f"{self.path}: holds no images")
        with np.load(self.path) as z:
            return z["arr_0"]

    def stats_for(self, dim: int) -> GaussianStats | None:
        """The statistics of dimension ``dim`` (None when there are none)."""
        found = [s for s in self.stats.values() if s.dim == dim]
        if len(found) > 1:
            raise InputError(f"{self.path}: several {dim}-d statistics ({sorted(self.stats)}); cannot tell which")
        return found[0] if found else None

    def describe(self) -> str:
        """What the file holds, for error messages."""
        parts = [f"{role} statistics ({s.dim}-d)" for role, s in self.stats.items()]
        if self.features is not None:
            parts.append(f"{self.features.shape[-1]}-d features ({self.features.shape[0]} rows)")
        if self.image_shape is not None:
            parts.append(f"{self.image_shape[0]} images {self.image_shape[2]}x{self.image_shape[1]}")
        return ", ".join(parts) or "nothing usable"


def _npz_keys(path: Path) -> list[str]:
    with np.load(path) as z:
        return list(z.keys())


def _npz_member_header(path: Path, key: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of one array of an ``.npz`` from its header, without reading the data."""
    import zipfile

    with zipfile.ZipFile(path) as zf, zf.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(f)
    return tuple(shape), dtype


def detect_format(path: str | Path) -> StatsFormat:
    """The format of ``path`` from its suffix and arrays (see the module docstring)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".npy":
        return "npy"
    if suffix in (".pt", ".pth"):
        return "torch_fidelity"
    if suffix != ".npz":
        raise InputError(f"{p}: not a statistics file (expected .npz, .npy or a torch-fidelity .pt)")
    keys = set(_npz_keys(p))
    if "mu_s" in keys or "arr_0" in keys:
        return "adm"
    if "feats" in keys:
        return "cleanfid_kid"
    if {"mu", "sigma"} <= keys:
        return "pytorch_fid"  # clean-fid writes the same arrays: one reader serves both
    raise InputError(f"{p}: arrays {sorted(keys)} are none of mu/sigma (pytorch-fid, clean-fid), feats "
                     "(clean-fid KID) or arr_0/mu_s (ADM)")  # fmt: skip


def _stats(mu: np.ndarray, sigma: np.ndarray, n: int | None, where: str) -> GaussianStats:
    m, s = torch.from_numpy(np.asarray(mu, np.float64)), torch.from_numpy(np.asarray(sigma, np.float64))
    if m.ndim != 1 or s.shape != (m.numel(), m.numel()):
        raise InputError(f"{where}: mu {tuple(m.shape)} and sigma {tuple(s.shape)} do not match")
    count = n if n is not None else 2  # unknown count: cov == sigma exactly, merges as 2 samples
    return GaussianStats(m.numel(), count, m, s * (count - 1), n_known=n is not None)


def _torch_load_numpy(path: Path) -> object:
    """``torch.load`` that allows numpy arrays and nothing else beyond tensors (no arbitrary pickles)."""
    try:
        from numpy._core.multiarray import _reconstruct  # numpy 2
    except ImportError:  # pragma: no cover - numpy 1
        from numpy.core.multiarray import _reconstruct  # type: ignore[no-redef,unused-ignore]
    # files pickled under numpy 1 name numpy.core.*, under numpy 2 numpy._core.*: allow both spellings
    allowed: list = [np.ndarray, np.dtype]
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed.append((_reconstruct, f"{mod}._reconstruct"))
    allowed += [type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64, np.int32, np.uint8)]
    with torch.serialization.safe_globals(allowed):
        return torch.load(path, map_location="cpu", weights_only=True)


def read_reference(path: str | Path, format: StatsFormat | None = None) -> ReferenceSet:
    """Read statistics, features or images from a file of any supported format.

    Raises:
        InputError: the file is missing, truncated, corrupt or holds none of the formats' arrays;
            the message names the file.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such statistics file")
    try:
        return _read_reference(p, format)
    except InputError:
        raise
    except Exception as e:  # zip, pickle and numpy errors of a corrupt or foreign file
        raise InputError(
            f"{p}: cannot be read as statistics ({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}); "
            "expected a pytorch-fid/clean-fid/ADM .npz, a torch-fidelity .pt or an .npy of features "
            "(re-download or re-create it)"
        ) from e


def _read_reference(p: Path, format: StatsFormat | None) -> ReferenceSet:
    fmt = format or detect_format(p)
    out = ReferenceSet(p, fmt)
    if fmt == "npy":
        out.features = torch.from_numpy(np.load(p)).double()
    elif fmt == "torch_fidelity":
        obj = _torch_load_numpy(p)
        if isinstance(obj, torch.Tensor):
            out.features = obj.double()
        elif isinstance(obj, dict) and {"mu", "sigma"} <= set(obj):
            out.stats["pool"] = _stats(np.asarray(obj["mu"]), np.asarray(obj["sigma"]), None, str(p))
        else:
            raise InputError(f"{p}: expected torch-fidelity statistics (dict mu, sigma) or features (a tensor)")
    else:
        with np.load(p) as z:  # arrays are read one by one on access: arr_0 (images) is left alone here
            if "mu" in z and "sigma" in z:
                out.stats["pool"] = _stats(z["mu"], z["sigma"], int(z["n"]) if "n" in z else None, str(p))
            if "mu_s" in z and "sigma_s" in z:
                out.stats["spatial"] = _stats(z["mu_s"], z["sigma_s"], None, str(p))
            if "feats" in z:
                out.features = torch.from_numpy(np.asarray(z["feats"], np.float64))
        if "arr_0" in _npz_keys(p):
            shape, dtype = _npz_member_header(p, "arr_0")
            if len(shape) != 4 or shape[-1] != 3 or dtype != np.uint8:
                raise InputError(f"{p}: arr_0 should be uint8 images (N, H, W, 3), got {dtype} {shape}")
            out.image_shape = shape
    if not out.stats and out.features is None and out.image_shape is None:
        raise InputError(f"{p}: no statistics, features or images found (format {fmt})")
    return out


def _savez(path: str | Path, compressed: bool, **arrays: np.ndarray) -> Path:
    dest = Path(path)
    if dest.suffix != ".npz":
        dest = dest.with_name(dest.name + ".npz")

    def write(f: IO[bytes]) -> None:
        if compressed:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type,unused-ignore]
        else:
            np.savez(f, **arrays)  # type: ignore[arg-type,unused-ignore]

    return atomic_write(dest, write)


def write_pytorch_fid(stats: GaussianStats, path: str | Path) -> Path:
    """pytorch-fid's ``.npz`` (``mu``, ``sigma``) plus ``n`` (readers that do not know it ignore it)."""
    return stats.save_npz(path)


def write_cleanfid(stats: GaussianStats, path: str | Path) -> Path:
    """clean-fid's custom statistics: compressed ``.npz`` with ``mu`` and ``sigma`` only."""
    return _savez(path, True, mu=stats.mean.cpu().numpy(), sigma=stats.cov.cpu().numpy())


def write_cleanfid_kid(features: torch.Tensor, path: str | Path) -> Path:
    """clean-fid's KID reference: compressed ``.npz`` with ``feats`` (N, dim)."""
    return _savez(path, True, feats=features.detach().cpu().numpy())


def write_adm(
    path: str | Path,
    *,
    pool: GaussianStats | None = None,
    spatial: GaussianStats | None = None,
    images: np.ndarray | None = None,
) -> Path:
    """An ADM evaluator batch: ``arr_0`` images and, for a reference batch, ``mu``/``sigma``/``mu_s``/``sigma_s``.

    The evaluator reads precomputed statistics only when both pairs are present (it checks for
    ``mu`` and computes the rest otherwise), so a reference batch should carry both.
    """
    arrays: dict[str, np.ndarray] = {}
    if images is not None:
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
            raise InputError(f"ADM images must be uint8 (N, H, W, 3), got {images.dtype} {images.shape}")
        arrays["arr_0"] = images
    for prefix, stats in (("", pool), ("_s", spatial)):
        if stats is not None:
            arrays[f"mu{prefix}"] = stats.mean.cpu().numpy()
            arrays[f"sigma{prefix}"] = stats.cov.cpu().numpy()
    if not arrays:
        raise InputError("write_adm needs images, statistics or both")
    return _savez(path, False, **arrays)


def write_torch_fidelity(stats: GaussianStats, path: str | Path) -> Path:
    """torch-fidelity's cached FID statistics: ``torch.save`` of ``{"mu": ndarray, "sigma": ndarray}``.

    Name it as torch-fidelity looks it up (``<input>-<extractor>-stat-fid-<layer>.pt`` in its
    cache root, e.g. ``cifar10-train-inception-v3-compat-stat-fid-2048.pt``) to have it used there.
    """
    obj = {"mu": stats.mean.cpu().numpy(), "sigma": stats.cov.cpu().numpy()}

    def write(f: IO[bytes]) -> None:
        torch.save(obj, f)

    return atomic_write(Path(path), write)


PUBLISHED_PREFIXES = ("cleanfid:", "adm:", "ttur:")


def is_published_name(source: object) -> bool:
    """Whether ``source`` names published statistics (``cleanfid:...``, ``adm:...``, ``ttur:...``)."""
    return isinstance(source, str) and source.startswith(PUBLISHED_PREFIXES)


def open_published(name: str, *, progress: bool | None = None) -> tuple[ReferenceSet, ReferenceStatsSpec]:
    """Published statistics by name, downloaded (verified, atomically) by the weights manager on first use."""
    from iqa.weights.store import resolve_weights

    spec = get_reference_stats(name)
    path = resolve_weights(spec.weight.id, progress=progress)
    fmt: StatsFormat = "pytorch_fid" if spec.format == "cleanfid" else spec.format  # type: ignore[assignment]
    return read_reference(path, fmt), spec
