"""A CSV or Parquet table of images as a scoring source: one row per image, paths or encoded bytes.

Columns:
- the image column (``image_column``; default the first of ``file``, ``path``, ``image``,
  ``filepath`` that exists): a path (relative paths are taken from the table's folder, or from
  ``root``), or, in Parquet, the encoded bytes (a binary column) or a struct of ``bytes`` and
  ``path`` (the layout Hugging Face ``datasets`` writes for an ``Image`` feature);
- the reference column (``ref_column``), in the same forms, for full-reference metrics;
- the key (``key_column``; default the image path, else a ``key``/``__key__``/``id`` column, else
  ``row<i>``): the ``file`` value of the item's output row. Keys must be unique.

Only names, row numbers and row-group positions are held; bytes are read from the Parquet file a
row group at a time when scored (the last row group read is kept, so items in order read each
group once), so a source pickles cheaply to another process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from iqa.errors import InputError
from iqa.io.folders import Pair, natural_key
from iqa.io.images import Blob
from iqa.io.sources import ImageRef, Source

IMAGE_COLUMNS = ("file", "path", "image", "filepath")
KEY_COLUMNS = ("key", "__key__", "id")


class TableSource(Source):
    """Rows of a ``.csv`` or ``.parquet`` table (see the module docstring)."""

    def __init__(
        self,
        table: str | os.PathLike,
        *,
        image_column: str | None = None,
        ref_column: str | None = None,
        key_column: str | None = None,
        root: str | os.PathLike | None = None,
    ):
        self.path = Path(table)
        if not self.path.is_file():
            raise InputError(f"{self.path}: no such table")
        self.root = Path(root) if root is not None else self.path.parent
        self.label = str(self.path)
        self.paired = ref_column is not None
        self._cols = _Columns(self.path, image_column, ref_column, key_column)
        self._keys: dict[str, int] | None = None  # item key -> row
        self._lock = threading.Lock()
        self._group: tuple[str, int, list[Any]] | None = None  # (column, row group, its values)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_lock"], state["_group"] = None, None  # a lock does not pickle; the cache is per process
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def describe(self) -> dict[str, object]:
        c = self._cols
        return {"kind": "table", "table": str(self.path), "image_column": c.image, "ref_column": c.ref or ""}

    def plan(self) -> list[Pair]:
        keys = self._index()
        if not keys:
            raise InputError(f"{self.path}: the table has no rows")
        order = sorted(keys, key=natural_key)
        return [Pair(k, k if self.paired else None) for k in order]

    def _index(self) -> dict[str, int]:
        if self._keys is None:
            keys = self._cols.keys()
            seen: dict[str, int] = {}
            for i, k in enumerate(keys):
                if k in seen:
                    raise InputError(
                        f"{self.path}: key {k!r} is on rows {seen[k] + 2} and {i + 2}; keys must be unique "
                        "(set key_column / --key-column to a column of unique names)"
                    )
                seen[k] = i
            self._keys = seen
        return self._keys

    def image(self, key: str) -> ImageRef:
        return self._cell(self._cols.image, key)

    def reference(self, key: str) -> ImageRef:
        if self._cols.ref is None:
            raise InputError(f"{self.path}: no reference column was named (ref_column / --ref-key)")
        return self._cell(self._cols.ref, key)

    def _cell(self, column: str, key: str) -> ImageRef:
        row = self._index().get(key)
        if row is None:
            raise InputError(f"{key}: no such row in {self.path}")
        value = self._value(column, row)
        # CSV rows as a spreadsheet numbers them (the header is row 1); Parquet rows from 0
        where = f"{self.path.name} row {row + 2 if not self._cols.is_parquet else row} ({column})"
        if isinstance(value, dict):  # Hugging Face datasets' Image struct
            if value.get("bytes"):
                return Blob(f"{where}: {value.get('path') or key}", bytes(value["bytes"]))
            value = value.get("path")
        if isinstance(value, (bytes, bytearray, memoryview)):
            return Blob(where, bytes(value))
        if not isinstance(value, str) or not value:
            raise InputError(f"{where}: empty cell (expected an image path or bytes)")
        p = Path(value)
        return p if p.is_absolute() else self.root / p

    def _value(self, column: str, row: int) -> Any:
        if not self._cols.is_parquet:
            return self._cols.csv_rows[row][column]
        group, offset = self._cols.locate(row)
        with self._lock:
            if self._group is None or self._group[:2] != (column, group):
                values = self._cols.parquet.read_row_group(group, columns=[column]).column(0).to_pylist()
                self._group = (column, group, values)
            return self._group[2][offset]


class _Columns:
    """The table's column choice and its keys; Parquet metadata (row groups) or the CSV rows."""

    def __init__(self, path: Path, image: str | None, ref: str | None, key: str | None):
        self.path = path
        self._pf: Any = None  # the open ParquetFile (reopened after unpickling)
        self.is_parquet = path.suffix.lower() in (".parquet", ".pq")
        self.csv_rows: list[dict[str, str]] = []
        if self.is_parquet:
            names = self._open_parquet()
        elif path.suffix.lower() == ".csv":
            names = self._read_csv()
        else:
            raise InputError(f"{path}: a table must be .csv or .parquet")
        self.names = names
        self.image = image or next((c for c in IMAGE_COLUMNS if c in names), "")
        if not self.image:
            raise InputError(f"{path}: no image column ({', '.join(IMAGE_COLUMNS)}); name it with --image-key "
                             f"(columns: {', '.join(names)})")  # fmt: skip
        self.ref, self.key = ref, key
        for what, col in (("image", self.image), ("reference", ref), ("key", key)):
            if col is not None and col not in names:
                raise InputError(f"{path}: no {what} column {col!r} (columns: {', '.join(names)})")

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_pf": None}  # an open ParquetFile does not pickle

    @property
    def parquet(self) -> Any:
        """The open ``pyarrow.parquet.ParquetFile``."""
        if self._pf is None:
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise InputError("reading a Parquet table needs pyarrow: pip install 'iqa[parquet]'") from None
            try:
                self._pf = pq.ParquetFile(self.path)
            except Exception as e:  # noqa: BLE001 - pyarrow raises several types for a bad file
                raise InputError(f"{self.path}: not a readable Parquet file ({e})") from None
        return self._pf

    def _open_parquet(self) -> list[str]:
        md = self.parquet.metadata
        self.starts = [0]
        for g in range(md.num_row_groups):
            self.starts.append(self.starts[-1] + md.row_group(g).num_rows)
        return list(self.parquet.schema_arrow.names)

    def _read_csv(self) -> list[str]:
        import csv

        try:
            with open(self.path, newline="", encoding="utf-8-sig") as f:
                reader = csv.DictReader(f)
                self.csv_rows = list(reader)
                return list(reader.fieldnames or [])
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise InputError(f"{self.path}: cannot read the CSV table ({e})") from None

    def locate(self, row: int) -> tuple[int, int]:
        """(row group, offset in it) of a Parquet row."""
        import bisect

        g = bisect.bisect_right(self.starts, row) - 1
        return g, row - self.starts[g]

    def keys(self) -> list[str]:
        """Each row's key (see the module docstring)."""
        key = self.key or next((c for c in KEY_COLUMNS if c in self.names), None)
        if key is not None:
            return [str(v) for v in self._column(key)]
        values = self._column(self.image, paths_only=True)
        return [v if isinstance(v, str) and v else f"row{i}" for i, v in enumerate(values)]

    def _column(self, name: str, paths_only: bool = False) -> list[Any]:
        if not self.is_parquet:
            return [r[name] for r in self.csv_rows]
        import pyarrow as pa

        field = self.parquet.schema_arrow.field(name)
        if paths_only and pa.types.is_struct(field.type):
            if field.type.get_field_index("path") < 0:
                return [None] * self.parquet.metadata.num_rows
            col = self.parquet.read(columns=[f"{name}.path"]).column(0)  # the nested field only, not the bytes
            return [v.get("path") if v else None for v in col.to_pylist()]
        if paths_only and not (pa.types.is_string(field.type) or pa.types.is_large_string(field.type)):
            return [None] * self.parquet.metadata.num_rows
        return self.parquet.read(columns=[name]).column(0).to_pylist()
