r"""List image files deterministically and pair distorted files with their references.

Order is the natural sort of the path relative to the folder (``img2`` before ``img10``), so the
same folder gives the same order on every platform. Hidden files (``.name``) are skipped.
Pairing is by relative path without extension (``out/a/x.png`` <-> ``gt/a/x.jpg``), or, with
``ref_pattern``, by a regular expression that maps the distorted stem to the reference stem
(KADID style ``I01_03_4.png`` -> ``I01.png`` with ``(?P<ref>I\d+)_\d+_\d+``).
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from iqa.errors import InputError, PairingError
from iqa.io.images import Blob

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm", ".pnm"}
)


def natural_key(s: str) -> list:
    """Sort key that orders digit runs numerically."""
    return [(0, int(t), "") if t.isdigit() else (1, 0, t.lower()) for t in re.split(r"(\d+)", s) if t != ""]


def list_images(root: str | os.PathLike, *, recursive: bool = False) -> list[str]:
    """Relative POSIX paths of the image files under ``root``, naturally sorted.

    Raises:
        InputError: ``root`` does not exist or is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a directory (expected a folder of images)")
    found: list[str] = []
    if recursive:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel = Path(dirpath).relative_to(root)
            found += [(rel / f).as_posix() for f in filenames if _is_image(f)]
    else:
        found = [e.name for e in os.scandir(root) if e.is_file() and _is_image(e.name)]
    return sorted(found, key=natural_key)


def _is_image(name: str) -> bool:
    return not name.startswith(".") and os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


@dataclass(frozen=True)
class Pair:
    """A distorted file, its reference (relative paths) or the reason there is none."""

    file: str
    ref: str | None
    error: str = ""


def _strip_ext(rel: str) -> str:
    return os.path.splitext(rel)[0]


def _compile(pattern: str | None) -> re.Pattern | None:
    if pattern is None:
        return None
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise InputError(f"ref_pattern {pattern!r} is not a valid regular expression: {e}") from None
    if "ref" not in rx.groupindex and rx.groups < 1:
        raise InputError(f"ref_pattern {pattern!r} needs a group, e.g. (?P<ref>I\\d+)_\\d+_\\d+")
    return rx


def pair_files(files: list[str], ref_files: list[str], *, ref_pattern: str | None = None) -> list[Pair]:
    """Pair each distorted file with a reference file by name (see module docstring).

    Files without a reference get ``ref=None`` and an ``error`` that says why; ambiguous
    references (same stem, several extensions) raise, because any choice would be a guess.
    """
    rx = _compile(ref_pattern)
    by_stem: dict[str, str] = {}
    for r in ref_files:
        stem = _strip_ext(r)
        if stem in by_stem:
            raise PairingError(
                f"reference folder has both {by_stem[stem]!r} and {r!r}: pairing by name is ambiguous; "
                "remove one or rename it"
            )
        by_stem[stem] = r
    pairs = []
    for f in files:
        stem = _strip_ext(f)
        if rx is not None:
            parent, base = os.path.split(stem)
            m = rx.match(base)
            if m is None:
                pairs.append(Pair(f, None, f"name does not match ref_pattern {rx.pattern!r}"))
                continue
            base = m.group("ref") if "ref" in rx.groupindex else m.group(1)
            stem = f"{parent}/{base}" if parent else base
        ref = by_stem.get(stem)
        pairs.append(Pair(f, ref, "" if ref else f"no reference file named {stem}.* in the reference folder"))
    return pairs


def plan_pairs(
    root: str | os.PathLike,
    ref_root: str | os.PathLike | None = None,
    *,
    recursive: bool = False,
    ref_pattern: str | None = None,
    shard: tuple[int, int] = (1, 1),
) -> list[Pair]:
    """The files of a scoring job in natural order, paired if ``ref_root`` is given, restricted
    to shard ``K/N`` (every N-th file starting at the K-th, so shards are balanced).

    Raises:
        InputError: no image files, or an invalid shard.
    """
    k, n = shard
    if not (n >= 1 and 1 <= k <= n):
        raise InputError(f"shard must be K/N with 1 <= K <= N, got {k}/{n}")
    files = list_images(root, recursive=recursive)
    if not files:
        raise InputError(f"{root}: no image files found (extensions: {', '.join(sorted(IMAGE_EXTENSIONS))})")
    if ref_root is not None:
        pairs = pair_files(files, list_images(ref_root, recursive=recursive), ref_pattern=ref_pattern)
    else:
        pairs = [Pair(f, None) for f in files]
    return [p for i, p in enumerate(pairs) if i % n == k - 1]


# PIL modes of files stored with one grey channel (with or without alpha); they decode to three equal channels.
GRAY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


@dataclass(frozen=True)
class Header:
    """What a file's header says, read without decoding its pixels (0 pixels: unreadable)."""

    pixels: int
    gray: bool


def read_header(path: str | os.PathLike | Blob) -> Header:
    """Pixel count and whether ``path`` (a file or a :class:`~iqa.io.images.Blob`) is stored grey
    (:data:`GRAY_MODES`), from its header only.

    A file that cannot be opened gets ``Header(0, False)``: decoding reports why, later.
    """
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a decompression-bomb warning is the decoder's business
            with Image.open(io.BytesIO(path.data) if isinstance(path, Blob) else path) as im:
                return Header(im.size[0] * im.size[1], im.mode in GRAY_MODES)
    except Exception:  # noqa: BLE001 - any unreadable file: the decoder names the problem
        return Header(0, False)
