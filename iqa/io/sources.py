"""Where a scoring job's images come from: a folder, webdataset tar shards, or a table of paths or bytes.

A :class:`Source` lists its items once (:meth:`Source.plan`: each a :class:`~iqa.io.folders.Pair`
of keys in natural order, with an ``error`` when an item cannot be scored, e.g. no reference) and
hands each key's encoded image out as a path or a :class:`~iqa.io.images.Blob`. Sources hold only
names and offsets, never pixels, so they pickle cheaply to other processes (torchrun ranks, Ray
actors), which read the bytes they score themselves.

- :class:`FolderSource`: files under a folder, paired with a reference folder by name
  (:mod:`iqa.io.folders`).
- :class:`WebDatasetSource` (:mod:`iqa.io.webdataset`): samples of uncompressed tar shards in the
  webdataset layout; the image and the reference are two members of one sample.
- :class:`TableSource` (:mod:`iqa.io.tables`): rows of a CSV or Parquet table naming image files,
  or (Parquet) holding the encoded bytes, with an optional reference column.

:func:`open_source` picks one from what the user gave (a folder, ``.tar`` shards, a ``.csv`` or
``.parquet`` table).
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from pathlib import Path

from iqa.errors import InputError
from iqa.io.folders import Header, Pair, plan_pairs, read_header
from iqa.io.images import Blob

ImageRef = Path | Blob  # a file to open, or bytes already in memory


class Source(ABC):
    """A set of images addressed by key (see the module docstring)."""

    #: what messages call the source (a folder, the shards, a table)
    label: str = ""
    #: whether items carry references (full-reference metrics need them)
    paired: bool = False

    @abstractmethod
    def plan(self) -> list[Pair]:
        """Every item, in natural key order; ``Pair.error`` says why one cannot be scored.

        Raises:
            InputError: the source holds no image at all.
        """

    @abstractmethod
    def image(self, key: str) -> ImageRef:
        """The encoded image of item ``key``."""

    def reference(self, key: str) -> ImageRef:
        """The encoded reference named ``key`` by an item's ``Pair.ref``."""
        raise InputError(f"{self.label} has no references")

    def header(self, key: str, *, ref: bool = False) -> Header:
        """Pixel count and grey/colour of an image (or reference) without decoding it."""
        return read_header(self.reference(key) if ref else self.image(key))

    def describe(self) -> dict[str, object]:
        """What the source is, for a result's provenance and a resumed run's check."""
        return {"kind": type(self).__name__, "label": self.label}


class FolderSource(Source):
    """Image files under ``root`` (natural order), paired by name with ``ref_root`` when given."""

    def __init__(
        self,
        root: str | os.PathLike,
        ref_root: str | os.PathLike | None = None,
        *,
        recursive: bool = False,
        ref_pattern: str | None = None,
    ):
        self.root = Path(root)
        self.ref_root = Path(ref_root) if ref_root is not None else None
        self.recursive, self.ref_pattern = recursive, ref_pattern
        self.label = str(self.root)
        self.paired = self.ref_root is not None

    def plan(self) -> list[Pair]:
        return plan_pairs(self.root, self.ref_root, recursive=self.recursive, ref_pattern=self.ref_pattern)

    def image(self, key: str) -> ImageRef:
        return self.root / key

    def reference(self, key: str) -> ImageRef:
        if self.ref_root is None:
            raise InputError(f"{self.label} has no reference folder")
        return self.ref_root / key

    def describe(self) -> dict[str, object]:
        return {"kind": "folder", "root": str(self.root), "ref_root": str(self.ref_root or "")}


def shard_items(items: list[Pair], shard: tuple[int, int]) -> list[Pair]:
    """Part K of N of ``items``: every N-th item starting at the K-th (shards stay balanced).

    Raises:
        InputError: not 1 <= K <= N.
    """
    k, n = shard
    if not (n >= 1 and 1 <= k <= n):
        raise InputError(f"shard must be K/N with 1 <= K <= N, got {k}/{n}")
    return [p for i, p in enumerate(items) if i % n == k - 1]


TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


def open_source(
    spec: str | os.PathLike | list[str | os.PathLike] | Source,
    ref: str | os.PathLike | None = None,
    *,
    recursive: bool = False,
    ref_pattern: str | None = None,
    image_key: str | None = None,
    ref_key: str | None = None,
    key_column: str | None = None,
) -> Source:
    """The source a user means by ``spec``: a folder, ``.tar`` shards (a list, a glob or
    ``shard-{000..009}.tar``), or a ``.csv`` / ``.parquet`` table.

    ``ref`` is the reference folder of a folder source; ``image_key`` / ``ref_key`` name the image
    and reference of a tar sample (member extensions, e.g. ``png`` and ``ref.png``) or of a table
    row (column names); ``key_column`` names a table's column of item keys.

    Raises:
        InputError: nothing at ``spec``, or options that do not apply to its kind (named).
    """
    if isinstance(spec, Source):
        return spec
    from iqa.io.webdataset import WebDatasetSource, expand_shards

    if isinstance(spec, (list, tuple)) and len(spec) == 1:
        spec = spec[0]
    if isinstance(spec, (list, tuple)) or _looks_like_shards(str(spec)):
        _refuse(key_column is not None, "--key-column is for tables; a tar sample's key is its member name")
        shards = expand_shards(spec if isinstance(spec, (list, tuple)) else [spec])
        _refuse(ref is not None, "--ref DIR is for folders; in tar shards the reference is a member: --ref-key")
        return WebDatasetSource(shards, image_key=image_key, ref_key=ref_key)
    path = Path(spec)
    if path.suffix.lower() in TABLE_SUFFIXES:
        from iqa.io.tables import TableSource

        _refuse(ref is not None, "--ref DIR is for folders; in a table the reference is a column: --ref-key")
        return TableSource(path, image_column=image_key, ref_column=ref_key, key_column=key_column)
    if not path.is_dir():
        raise InputError(
            f"{path}: not a folder, .tar shard(s) or .csv/.parquet table (nothing to score there); "
            "give a folder of images, webdataset shards (a.tar b.tar or 'shard-{000..009}.tar') or a table"
        )
    _refuse(
        image_key is not None or ref_key is not None or key_column is not None,
        "--image-key, --ref-key and --key-column are for tar shards and tables, not folders",
    )
    return FolderSource(path, ref, recursive=recursive, ref_pattern=ref_pattern)


def _looks_like_shards(s: str) -> bool:
    return s.lower().endswith(".tar") or ("{" in s and ".tar" in s.lower()) or ("*" in s and ".tar" in s.lower())


def _refuse(cond: bool, why: str) -> None:
    if cond:
        raise InputError(why)
