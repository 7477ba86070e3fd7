"""Result tables for folder scoring: an append-only journal, atomic final files, resume, merge.

While a job runs, each finished batch of rows is appended to ``<out>.partial.jsonl`` and flushed,
so a crash or ``kill -9`` loses at most the batch in flight. The final CSV/JSON/Parquet file is
written once, to a temporary file renamed over the target (atomic on POSIX). ``resume`` reads the
journal (dropping a torn last line) and any existing final file, and skips rows already present.
Rows are always written in the natural order of their ``file`` key, so a resumed, sharded or
uninterrupted run produce identical files.

One run writes an output at a time: a :class:`ResultStore` holds ``<out>.lock``
(:mod:`iqa.io.locks`) from its creation to :meth:`ResultStore.finalize` or
:meth:`ResultStore.close`, so a second writer fails at once, naming the holder.

A shard (``meta["shard"] == [K, N]`` with N > 1) also writes ``<out>.shard``, a JSON record of
K/N, its row count and settings, next to its final file; :func:`merge_tables` reads these records
and refuses a set with a missing or duplicated shard, mixed N or different settings.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from iqa.atomic import atomic_write_bytes, atomic_write_json
from iqa.errors import InputError, OutputExistsError
from iqa.io.folders import natural_key
from iqa.io.locks import FileLock

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


def shard_record_path(out: Path) -> Path:
    """The shard record written next to a shard's final table: ``<out>.shard``."""
    out = Path(out)
    return out.with_name(out.name + ".shard")


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
    """Journal + final file for one scoring job (see module docstring).

    The output's lock is taken first, so a second writer fails before touching anything; it is
    released by :meth:`finalize`, :meth:`close` (leaving the journal for a resume) or the end of
    the process. Use it as a context manager to release it on an error.

    Raises:
        OutputLockedError: another run writes ``out`` (the message names the holder).
        OutputExistsError: ``out`` or its journal exists and neither ``resume`` nor ``overwrite``.
        InputError: a journal or final file written with other settings or columns.
    """

    def __init__(self, out: Path, columns: list[str], meta: dict, *, resume: bool = False, overwrite: bool = False):
        self.out = Path(out)
        self.fmt = output_format(self.out)
        self.columns = columns
        self.meta = meta
        self.journal = journal_path(self.out)
        self.rows: dict[str, dict] = {}
        self._fh: TextIO | None = None
        self._synced = time.monotonic()
        self._lock = FileLock(self.out).acquire()
        try:
            self._open_previous(resume, overwrite)
        except BaseException:
            self._lock.release()
            raise

    def _open_previous(self, resume: bool, overwrite: bool) -> None:
        exists = self.out.exists() or self.journal.exists()
        if exists and not (resume or overwrite):
            raise OutputExistsError(
                f"{self.out} (or its journal {self.journal.name}) exists; pass --resume to continue it "
                "or --overwrite to start again"
            )
        if overwrite and not resume:
            self.journal.unlink(missing_ok=True)
            self.out.unlink(missing_ok=True)
            shard_record_path(self.out).unlink(missing_ok=True)
        if resume:
            self._load_previous()

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

    def _close_journal(self) -> None:
        if self._fh is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def finalize(self) -> list[dict]:
        """Write the final file atomically (natural order), remove the journal, release the lock.

        A shard writes its record (``<out>.shard``) just before its table. Returns the rows.
        """
        try:
            self._close_journal()
            rows = sort_rows(self.rows.values())
            self._write_shard_record(len(rows))
            write_table(self.out, rows, self.columns)
            self.journal.unlink(missing_ok=True)
        finally:
            self._lock.release()
        return rows

    def _write_shard_record(self, n_rows: int) -> None:
        record = shard_record_path(self.out)
        shard = self.meta.get("shard")
        if not (isinstance(shard, (list, tuple)) and len(shard) == 2 and shard[1] > 1):
            record.unlink(missing_ok=True)  # a stale record of an earlier sharded run
            return
        settings = {k: v for k, v in self.meta.items() if k != "shard"}
        body = {"shard": [int(shard[0]), int(shard[1])], "rows": n_rows, "columns": self.columns, "settings": settings}
        atomic_write_json(record, body)

    def close(self) -> None:
        """Stop without a final file: the journal stays for a resume; the lock is released."""
        try:
            self._close_journal()
        finally:
            self._lock.release()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()  # after finalize() this only finds nothing left to do


@dataclass(frozen=True)
class ShardRecord:
    """What a shard's ``<out>.shard`` says: part ``k`` of ``n``, its row count and settings."""

    k: int
    n: int
    rows: int
    settings: dict

    @property
    def label(self) -> str:
        return f"{self.k}/{self.n}"


def read_shard_record(table: Path) -> ShardRecord | None:
    """The record of the shard table ``table``, or None when it has none (not written by a shard)."""
    path = shard_record_path(table)
    if not path.exists():
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
        k, n = (int(v) for v in d["shard"])
        return ShardRecord(k, n, int(d["rows"]), dict(d.get("settings", {})))
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: not a readable shard record ({e}); rescore that shard") from None


# Settings that may differ between the shards of one run: the batch size only changes how items
# are grouped into forward passes, not which items or what is computed.
_FREE_SETTINGS = ("batch_size",)


def check_shard_set(records: dict[Path, ShardRecord | None], *, allow_partial: bool = False) -> None:
    """Refuse a shard set that is not one run's complete set of parts (see :func:`merge_tables`)."""
    bare = [p.name for p, r in records.items() if r is None]
    known = {p: r for p, r in records.items() if r is not None}
    if bare:
        msg = (
            f"{', '.join(bare)} {'has' if len(bare) == 1 else 'have'} no shard record (<table>.shard, written by "
            "`iqa score --shard K/N`), so merge cannot check that no shard is missing"
        )
        if not allow_partial:
            raise InputError(f"{msg}; pass --allow-partial (allow_partial=True) to merge them anyway")
        warnings.warn(f"{msg}; merging anyway (allow_partial)", stacklevel=3)
    if not known:
        return
    first_path, first = next(iter(known.items()))
    by_k: dict[int, Path] = {}
    for p, r in known.items():
        if r.n != first.n:
            raise InputError(
                f"{first_path.name} is shard {first.label} but {p.name} is shard {r.label}: "
                "the shards of one run share N"
            )
        if r.k in by_k:
            raise InputError(f"shard {r.label} given twice: {by_k[r.k].name} and {p.name}")
        by_k[r.k] = p
        if _comparable(r.settings) != _comparable(first.settings):
            raise InputError(
                f"{p.name} was scored with other settings than {first_path.name} "
                f"({_diff(first.settings, r.settings)}); all shards must come from one run"
            )
    missing = [f"{k}/{first.n}" for k in range(1, first.n + 1) if k not in by_k]
    if missing:
        msg = f"incomplete shard set: shard(s) {', '.join(missing)} missing (given {', '.join(_given(known))})"
        if not allow_partial:
            raise InputError(
                f"{msg}; score the missing part(s) with `iqa score ... --shard K/N`, "
                "or pass --allow-partial (allow_partial=True) to merge what is there"
            )
        warnings.warn(f"{msg}; merging anyway (allow_partial): the table lacks their rows", stacklevel=3)


def _given(records: dict[Path, ShardRecord]) -> list[str]:
    return [f"{r.label} = {p.name}" for p, r in sorted(records.items(), key=lambda pr: pr[1].k)]


def _comparable(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k not in _FREE_SETTINGS}


def _diff(a: dict, b: dict) -> str:
    a, b = _comparable(a), _comparable(b)
    return ", ".join(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))


def merge_tables(inputs: list[Path], out: Path, *, allow_partial: bool = False) -> list[dict]:
    """Join the tables of ``iqa score --shard K/N`` runs into one, in natural file order.

    Each shard's record (``<table>.shard``) must be there, all with the same N and settings, every
    K from 1 to N exactly once, each table with the row count its record states. Rows present in
    two tables must agree. The output is locked while it is written.

    Args:
        inputs: the shard tables (a ``.shard`` record given among them is skipped).
        out: the merged table (.csv, .json, .parquet).
        allow_partial: merge a set with missing shards, or tables without a record, with a warning.

    Raises:
        InputError: a missing shard (named), a duplicated shard, mixed N or settings, a table that
            does not match its record, different columns, or conflicting rows.
    """
    tables = [Path(p) for p in inputs if not _is_record_of(Path(p), inputs)]
    if not tables:
        raise InputError("merge needs at least one input table")
    records = {p: read_shard_record(p) for p in tables}
    check_shard_set(records, allow_partial=allow_partial)
    merged: dict[str, dict] = {}
    columns: list[str] | None = None
    for p in tables:
        rows, cols = read_table(p)
        rec = records[p]
        if rec is not None and len(rows) != rec.rows:
            raise InputError(
                f"{p} has {len(rows)} rows but its shard record says {rec.rows}: the table was changed "
                f"after shard {rec.label} finished; rescore that shard"
            )
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
    with FileLock(out):
        write_table(out, rows, columns or [])
        shard_record_path(out).unlink(missing_ok=True)  # the merged table is no shard
    return rows


def _is_record_of(p: Path, inputs: list[Path]) -> bool:
    """Whether ``p`` is the ``.shard`` record of another input (a shell glob can pick both up)."""
    return p.suffix == ".shard" and p.with_suffix("") in {Path(q) for q in inputs}


def _same_row(a: dict, b: dict) -> bool:
    for k in set(a) | set(b):
        x, y = a.get(k), b.get(k)
        if isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y):
            continue
        if x != y:
            return False
    return True
