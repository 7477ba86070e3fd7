"""Strict, summarising readers for label files.

Every problem in a label file is collected (line number, what, the fix) and reported in one
:class:`~iqa.errors.DatasetError` whose message shows the count and the first few lines, instead
of a stack trace per row.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from iqa.errors import DatasetError, DatasetFilesError

SHOWN = 5  # problems quoted in a message; the rest are counted


@dataclass
class Problems:
    """Problems found while reading one source (a file or a folder)."""

    source: Path
    items: list[str] = field(default_factory=list)

    def add(self, line: int | None, what: str) -> None:
        self.items.append(f"line {line}: {what}" if line is not None else what)

    def raise_if_any(self, fix: str, error: type[DatasetError] = DatasetError) -> None:
        if not self.items:
            return
        shown = "\n  ".join(self.items[:SHOWN])
        more = f"\n  ... and {len(self.items) - SHOWN} more" if len(self.items) > SHOWN else ""
        raise error(f"{self.source}: {len(self.items)} problem(s):\n  {shown}{more}\n{fix}")


def require_file(path: Path, what: str, fix: str) -> Path:
    if not path.is_file():
        raise DatasetFilesError(f"{path}: {what} not found. {fix}")
    return path


def safe_relpath(name: str) -> str | None:
    """``name`` as a relative POSIX path inside the dataset root, or None if it could escape it."""
    name = name.strip().replace("\\", "/")
    p = PurePosixPath(name)
    if not name or p.is_absolute() or ".." in p.parts or ":" in p.parts[0]:
        return None
    return p.as_posix()


def parse_float(text: str) -> float | None:
    try:
        v = float(text)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def read_csv_table(path: Path, required: list[str], problems: Problems) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a headed CSV; missing columns and ragged rows are problems."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            problems.add(None, "the file is empty")
            return []
        header = [h.strip() for h in header]
        missing = [c for c in required if c not in header]
        if missing:
            problems.add(1, f"missing column(s) {missing}; header is {header}")
            return []
        rows = []
        for i, rec in enumerate(reader, start=2):
            if not rec or all(not c.strip() for c in rec):
                continue
            if len(rec) != len(header):
                problems.add(i, f"{len(rec)} fields, the header has {len(header)}: {','.join(rec)[:80]!r}")
                continue
            rows.append((i, dict(zip(header, (c.strip() for c in rec)))))
        return rows


def check_name(name: str, line: int, problems: Problems, field_name: str = "image") -> str | None:
    rel = safe_relpath(name)
    if rel is None:
        problems.add(line, f"{field_name} name {name!r} is empty, absolute or leaves the dataset root")
    return rel


def check_score(text: str, line: int, problems: Problems, field_name: str) -> float | None:
    v = parse_float(text)
    if v is None:
        problems.add(line, f"{field_name} {text!r} is not a finite number")
    return v


def note_duplicates(names: list[tuple[int, str]], problems: Problems) -> None:
    seen: dict[str, int] = {}
    for line, name in names:
        if name in seen:
            problems.add(line, f"duplicate row for {name!r} (first on line {seen[name]})")
        else:
            seen[name] = line
