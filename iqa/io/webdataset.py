"""Webdataset tar shards as a scoring source, read by member offset (no extraction, no dependency).

The layout is webdataset's (https://github.com/webdataset/webdataset): a sample is the run of
members that share a key, the member path up to the first dot of its base name
(``images/000123.jpg`` and ``images/000123.ref.png`` are sample ``images/000123`` with the
extensions ``jpg`` and ``ref.png``). The image of a sample is the member whose extension is one of
``image_key`` (``;``-separated alternatives, webdataset's convention: ``jpg;png``); the reference
of a full-reference pair is the member named by ``ref_key`` (``ref.png``).

Each shard is indexed once (member names, data offsets and sizes from the tar headers); a read is
a seek into the shard, so any process can read any sample. An item's key in the output is
``<shard file name>/<sample key>``. Compressed shards (``.tar.gz``) cannot be read at an offset
and are refused with the command that converts them.
"""

from __future__ import annotations

import glob
import os
import re
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from iqa.errors import InputError
from iqa.io.folders import Header, Pair, natural_key, read_header
from iqa.io.images import Blob
from iqa.io.sources import ImageRef, Source

DEFAULT_IMAGE_KEY = "jpg;jpeg;png;webp;bmp;tif;tiff;ppm"
_HEADER_BYTES = 1 << 16  # enough of a file for its size and mode (a JPEG's EXIF comes first)


def expand_shards(specs: Sequence[str | os.PathLike]) -> list[Path]:
    """Shard paths from names, globs (``data/*.tar``) and brace ranges (``shard-{000..009}.tar``).

    Raises:
        InputError: a pattern that matches nothing, or a named shard that does not exist.
    """
    out: list[Path] = []
    for spec in specs:
        for name in _braces(str(spec)):
            if any(c in name for c in "*?["):
                hits = sorted(glob.glob(name), key=natural_key)
                if not hits:
                    raise InputError(f"{name}: no tar shard matches this pattern")
                out += [Path(h) for h in hits]
            else:
                out.append(Path(name))
    for p in out:
        if not p.is_file():
            raise InputError(f"{p}: no such tar shard")
    if not out:
        raise InputError("no tar shards given")
    return out


def _braces(s: str) -> list[str]:
    """``a{0..2}b`` -> a0b a1b a2b (zero padding kept), ``{x,y}`` -> both; nested braces expand too."""
    m = re.search(r"\{([^{}]*)\}", s)
    if m is None:
        return [s]
    body, head, tail = m.group(1), s[: m.start()], s[m.end() :]
    rng = re.fullmatch(r"(\d+)\.\.(\d+)", body)
    if rng:
        lo, hi = rng.group(1), rng.group(2)
        width = len(lo) if lo.startswith("0") else 0
        parts = [str(i).zfill(width) for i in range(int(lo), int(hi) + 1)]
    else:
        parts = body.split(",")
    return [x for p in parts for x in _braces(head + p + tail)]


@dataclass(frozen=True)
class Member:
    """Where one tar member's bytes are: shard index, data offset, size, and the member's name."""

    shard: int
    offset: int
    size: int
    name: str


def split_key(name: str) -> tuple[str, str] | None:
    """(sample key, extension) of a member path by webdataset's rule, or None (no extension)."""
    m = re.match(r"^((?:.*/|)[^.]+)[.]([^/]*)$", name)
    return (m.group(1), m.group(2)) if m else None


def index_shard(path: Path, shard: int) -> dict[str, dict[str, Member]]:
    """Sample key -> extension -> member, of one uncompressed tar (headers only).

    Raises:
        InputError: a compressed or unreadable shard (named, with the fix).
    """
    try:
        with tarfile.open(path, mode="r:") as tar:
            samples: dict[str, dict[str, Member]] = {}
            for info in tar:
                parts = split_key(info.name) if info.isfile() else None
                if parts is None or os.path.basename(info.name).startswith("."):
                    continue
                key, ext = parts
                samples.setdefault(key, {})[ext.lower()] = Member(shard, info.offset_data, info.size, info.name)
            return samples
    except tarfile.ReadError as e:
        raise InputError(
            f"{path}: not an uncompressed tar ({e}); compressed shards cannot be read at an offset: "
            f"decompress first (gunzip -k {path.name}, or zstd -d)"
        ) from None
    except OSError as e:
        raise InputError(f"{path}: cannot read the shard ({e})") from None


class WebDatasetSource(Source):
    """Samples of webdataset tar shards (see the module docstring)."""

    def __init__(
        self, shards: Sequence[str | os.PathLike], *, image_key: str | None = None, ref_key: str | None = None
    ):
        self.shards = [Path(s) for s in shards]
        if not self.shards:
            raise InputError("no tar shards given")
        self.image_keys = _alternatives(image_key or DEFAULT_IMAGE_KEY, "image_key")
        self.ref_keys = _alternatives(ref_key, "ref_key") if ref_key else []
        if set(self.image_keys) & set(self.ref_keys):
            raise InputError(f"image_key {image_key!r} and ref_key {ref_key!r} name the same member")
        self.paired = bool(self.ref_keys)
        first = self.shards[0].name if len(self.shards) == 1 else f"{self.shards[0].name} .. {self.shards[-1].name}"
        self.label = f"{len(self.shards)} tar shard(s) {first}"
        self._members: dict[str, tuple[Member | None, Member | None, str]] | None = None

    def describe(self) -> dict[str, object]:
        return {"kind": "webdataset", "shards": [str(s) for s in self.shards], "image_key": ";".join(self.image_keys),
                "ref_key": ";".join(self.ref_keys)}  # fmt: skip

    def _index(self) -> dict[str, tuple[Member | None, Member | None, str]]:
        """Item key -> (image member, reference member, why not scorable)."""
        if self._members is None:
            members: dict[str, tuple[Member | None, Member | None, str]] = {}
            names = [s.name for s in self.shards]
            if len(set(names)) != len(names):
                raise InputError(
                    "two shards have the same file name; item keys (<shard name>/<sample key>) would clash"
                )
            for i, path in enumerate(self.shards):
                for key, exts in index_shard(path, i).items():
                    members[f"{path.name}/{key}"] = self._pick(exts)
            self._members = members
        return self._members

    def _pick(self, exts: dict[str, Member]) -> tuple[Member | None, Member | None, str]:
        img = next((exts[k] for k in self.image_keys if k in exts), None)
        ref = next((exts[k] for k in self.ref_keys if k in exts), None)
        why = ""
        if img is None:
            why = f"sample has no {';'.join(self.image_keys)} member (it has: {', '.join(sorted(exts))}); set image_key"
        elif self.paired and ref is None:
            why = f"sample has no reference member {';'.join(self.ref_keys)} (it has: {', '.join(sorted(exts))})"
        return img, ref, why

    def plan(self) -> list[Pair]:
        index = self._index()
        if not any(img is not None for img, _, _ in index.values()):
            raise InputError(f"{self.label}: no sample has an image member ({';'.join(self.image_keys)})")
        keys = sorted(index, key=natural_key)
        # A reference is a member of the item's own sample: its key is the item's key.
        return [Pair(k, k if self.paired and not index[k][2] else None, index[k][2]) for k in keys]

    def _read(self, m: Member | None, key: str, limit: int | None = None) -> Blob:
        if m is None:
            raise InputError(f"{key}: no such member in {self.label}")
        with open(self.shards[m.shard], "rb") as f:
            f.seek(m.offset)
            data = f.read(m.size if limit is None else min(limit, m.size))
        return Blob(f"{self.shards[m.shard].name}:{m.name}", data)

    def image(self, key: str) -> ImageRef:
        return self._read(self._entry(key)[0], key)

    def reference(self, key: str) -> ImageRef:
        return self._read(self._entry(key)[1], key)

    def header(self, key: str, *, ref: bool = False) -> Header:
        entry = self._entry(key)
        head = read_header(self._read(entry[1] if ref else entry[0], key, _HEADER_BYTES))
        if head.pixels == 0:  # a header beyond the first bytes (rare): read the whole member
            head = read_header(self._read(entry[1] if ref else entry[0], key))
        return head

    def _entry(self, key: str) -> tuple[Member | None, Member | None, str]:
        entry = self._index().get(key)
        if entry is None:
            raise InputError(f"{key}: no such sample in {self.label}")
        return entry


def _alternatives(spec: str | None, what: str) -> list[str]:
    keys = [k.strip().lower().lstrip(".") for k in (spec or "").split(";") if k.strip()]
    if not keys:
        raise InputError(f"{what} must name a member extension such as 'png' or 'jpg;png', got {spec!r}")
    return keys
