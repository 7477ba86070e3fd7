"""Result tables for folder scoring: an append-only journal, atomic final files, resume, merge.

While a job runs, each finished batch of rows is appended to ``<out>.partial.jsonl`` and flushed,
so a crash or ``kill -9`` loses at most the batch in flight. The final CSV/JSON/Parquet file is
written once, to a temporary file renamed over the target (atomic on POSIX). ``resume`` reads the
journal (dropping a torn last line) and any existing final file, and skips rows already present.
Rows are always written in the natural order of their ``file`` key, so a resumed, sharded or
uninterrupted run produce identical files.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from iqa.atomic import atomic_write_bytes
from iqa.errors import InputError, OutputExistsError
from iqa.io.folders import natural_key

FORMATS = {".csv": "csv", ".json": "json", ".parquet": "parquet"}
KEY = "file"


def output_format(path: Path) -> str:
    """'csv', 'json' or 'parquet' from the extension; others raise with the list."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"output {path}: unknown extension {path.suffix!r}; use .csv, .json or .parquet")
    return fmt


def journal_path(out: Path) -> Path:
    return out.with_name(out.name + ".partial.jsonl")


def _clean(v: Any) -> Any:
    return None if isinstance(v, float) and math.isnan(v) else v


def write_table(path: Path, rows: list[dict], columns: list[str]) -> None:
    """Write rows atomically in the format given by the extension."""
    fmt = output_format(path)
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(columns)
        for r in rows:
            w.writerow(["" if _clean(r.get(c)) is None else r.get(c) for c in columns])
        atomic_write_bytes(path, buf.getvalue().encode("utf-8"))
    elif fmt == "json":
        data = [{c: _clean(r.get(c)) for c in columns} for r in rows]
        atomic_write_bytes(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"))
    else:
        import pandas as pd

        raw = io.BytesIO()
        pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns).to_parquet(raw, index=False)
        atomic_write_bytes(path, raw.getvalue())


def _parse_csv_value(col: str, v: str) -> Any:
    if col in (KEY, "ref", "error"):
        return v
    if v == "":
        return float("nan")
    try:
        return float(v)
    except ValueError:
        return v


def read_table(path: Path) -> tuple[list[dict], list[str]]:
    """Read a table written by :func:`write_table` back into rows and columns."""
    fmt = output_format(path)
    if fmt == "csv":
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            columns = next(reader, [])
            rows = [{c: _parse_csv_value(c, v) for c, v in zip(columns, line)} for line in reader]
        return rows, columns
    if fmt == "json":
        data = json.loads(path.read_text(encoding="utf-8"))
        columns = list(data[0]) if data else []
        rows = [
            {c: (float("nan") if v is None and c not in (KEY, "ref", "error") else v) for c, v in r.items()}
            for r in data
        ]
        return rows, columns
    import pandas as pd

    df = pd.read_parquet(path)
    return df.to_dict("records"), list(df.columns)


def sort_rows(rows: Iterable[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: natural_key(str(r[KEY])))


class ResultStore:
    """Journal + final file for one scoring job (see module docstring)."""

    def __init__(self, out: Path, columns: list[str], meta: dict, *, resume: bool = False, overwrite: bool = False):
        self.out = Path(out)
        self.fmt = output_format(self.out)
        self.columns = columns
        self.meta = meta
        self.journal = journal_path(self.out)
        self.rows: dict[str, dict] = {}
        exists = self.out.exists() or self.journal.exists()
        if exists and not (resume or overwrite):
            raise OutputExistsError(
                f"{self.out} (or its journal {self.journal.name}) exists; pass --resume to continue it "
                "or --overwrite to start again"
            )
        if overwrite and not resume:
            self.journal.unlink(missing_ok=True)
            self.out.unlink(missing_ok=True)
        if resume:
            self._load_previous()
        self._fh: TextIO | None = None
        self._synced = time.monotonic()

    def _check_columns(self, columns: list[str], source: Path) -> None:
        if columns and columns != self.columns:
            raise InputError(
                f"{source} has columns {columns} but this run produces {self.columns}; "
                "resume with the same metrics, or write to a new output"
            )

    def _load_previous(self) -> None:
        if self.out.exists():
            rows, columns = read_table(self.out)
            self._check_columns(columns, self.out)
            self.rows.update({str(r[KEY]): r for r in rows})
        if self.journal.exists():
            self._load_journal()

    def _load_journal(self) -> None:
        raw = self.journal.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]  # a torn last line from a kill is dropped
        if len(complete) != len(raw):
            with open(self.journal, "r+b") as f:
                f.truncate(len(complete))
        for i, line in enumerate(complete.decode("utf-8").splitlines()):
            rec = json.loads(line)
            if i == 0 and "__meta__" in rec:
                if rec["__meta__"] != self.meta:
                    raise InputError(
                        f"{self.journal} was written with different settings {rec['__meta__']}; "
                        f"this run uses {self.meta}. Resume with the same options or use --overwrite"
                    )
                continue
            self.rows[str(rec[KEY])] = {
                c: (float("nan") if v is None and c not in (KEY, "ref", "error") else v) for c, v in rec.items()
            }

    def done(self) -> set[str]:
        """Keys already written (previous final file or journal)."""
        return set(self.rows)

    def append(self, rows: list[dict]) -> None:
        """Append rows to the journal (flushed to the OS), so they survive a kill of the process."""
        if not rows:
            return
        fh = self._fh
        if fh is None:
            new = not self.journal.exists() or self.journal.stat().st_size == 0
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            fh = self._fh = open(self.journal, "a", encoding="utf-8")  # kept open across appends
            if new:
                fh.write(json.dumps({"__meta__": self.meta}) + "\n")
        payload = "".join(json.dumps({c: _clean(r.get(c)) for c in self.columns}) + "\n" for r in rows)
        fh.write(payload)
        # flush() hands the rows to the OS: they survive a kill -9 of this process. fsync (for
        # power loss) is rate-limited, since one per batch cost more than scoring small images.
        fh.flush()
        if time.monotonic() - self._synced > 2.0:
            os.fsync(fh.fileno())
            self._synced = time.monotonic()
        for r in rows:
            self.rows[str(r[KEY])] = r

    def finalize(self) -> list[dict]:
        """Write the final file atomically (natural order), remove the journal, return the rows."""
        if self._fh is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
        rows = sort_rows(self.rows.values())
        write_table(self.out, rows, self.columns)
        self.journal.unlink(missing_ok=True)
        return rows


def merge_tables(inputs: list[Path], out: Path) -> list[dict]:
    """Join shard outputs into one table in natural order; conflicting duplicates raise."""
    if not inputs:
        raise InputError("merge needs at least one input table")
    merged: dict[str, dict] = {}
    columns: list[str] | None = None
    for p in inputs:
        rows, cols = read_table(Path(p))
        if columns is None:
            columns = cols
        elif cols and cols != columns:
            raise InputError(f"{p} has columns {cols}, expected {columns} (all shards must use the same metrics)")
        for r in rows:
            k = str(r[KEY])
            if k in merged and not _same_row(merged[k], r):
                raise InputError(f"{p}: row {k!r} differs from an earlier input; shards overlap with other results")
            merged[k] = r
    rows = sort_rows(merged.values())
    write_table(out, rows, columns or [])
    return rows


def _same_row(a: dict, b: dict) -> bool:
    for k in set(a) | set(b):
        x, y = a.get(k), b.get(k)
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True
