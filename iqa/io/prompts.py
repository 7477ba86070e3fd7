r"""The prompts file of a text-image scoring run: which prompt goes with which image.

``iqa score DIR --prompts prompts.csv -m clipscore`` (and ``iqa.score(DIR, prompts=...)``) read one
CSV, checked before any image is read:

- UTF-8 (a byte-order mark is accepted), comma-separated, quoted as RFC 4180 (Python's ``csv``): a
  prompt holding a comma, a double quote (doubled: ``""``) or a line break is written in double quotes.
- A header row naming the columns ``file`` and ``prompt`` (any order, case and surrounding spaces
  ignored); other columns are ignored.
- ``file`` is the image's path relative to DIR with ``/`` between folders (``a.png``,
  ``sub/b.jpg`` with ``--recursive``), exactly as the output's ``file`` column writes it; a leading
  ``./`` and surrounding spaces are dropped. An absolute path, or one with ``..``, is refused.
- ``prompt`` is taken as written (the tokenizer cleans whitespace); an empty cell is a missing prompt.

A file named twice is an error (both lines named). Rows for files that are not in DIR are reported
(a warning, with a count), not refused. An image with no prompt row, or an empty one, gets a per-file
error in the results (its scores are NaN) and the run goes on.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from iqa.errors import InputError

COLUMNS = ("file", "prompt")
FIX = 'a UTF-8 CSV with a header row "file,prompt", one image per row (see iqa.io.prompts)'


@dataclass(frozen=True)
class PromptTable:
    """The prompts of a run: ``file`` (relative POSIX path) -> prompt, and where each came from.

    Attributes:
        path: the CSV read.
        prompts: file -> prompt ("" for an empty cell, which :meth:`lookup` reports as missing).
        lines: file -> its row number in the CSV, the header being row 1 (for messages).
    """

    path: Path
    prompts: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)

    def lookup(self, file: str) -> tuple[str | None, str]:
        """(the prompt of ``file``, "") or (None, why there is none: the per-file error)."""
        prompt = self.prompts.get(file)
        if prompt is None:
            return None, f"no prompt for {file} in {self.path.name} (add a row: {file},<prompt>)"
        if not prompt.strip():
            return None, f"empty prompt for {file} in {self.path.name} row {self.lines[file]}"
        return prompt, ""

    def unused(self, files: list[str]) -> list[str]:
        """Rows of the CSV naming files that are not among ``files``, in the CSV's order."""
        have = set(files)
        return [f for f in self.prompts if f not in have]

    def digest(self, files: list[str]) -> str:
        """sha256 (16 hex digits) of the prompts of ``files``: equal runs use equal prompts."""
        h = hashlib.sha256()
        for f in files:
            h.update(f.encode("utf-8") + b"\0" + self.prompts.get(f, "\0missing").encode("utf-8") + b"\0")
        return h.hexdigest()[:16]


def _key(raw: str, path: Path, line: int) -> str:
    name = raw.strip().replace("\\", "/")
    if not name:
        raise InputError(f"{path} row {line}: the file cell is empty; {FIX}")
    p = PurePosixPath(name)
    if p.is_absolute() or ".." in p.parts or (len(name) > 1 and name[1] == ":"):
        raise InputError(
            f"{path} row {line}: {raw!r} is not a path relative to the image folder; write it as the "
            "output's file column does (e.g. a.png or sub/b.png)"
        )
    return p.as_posix()


def read_prompts(path: str | os.PathLike) -> PromptTable:
    """Read and check a prompts CSV (see the module docstring for the format).

    Raises:
        InputError: the file cannot be read or decoded, has no ``file``/``prompt`` header, names a
            file twice, or names one that is not a relative path; each message names the file and the fix.
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise InputError(f"prompts file {path} does not exist; give {FIX}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"prompts file {path} cannot be read ({e}); give {FIX}") from None
    if not rows:
        raise InputError(f"prompts file {path} is empty; give {FIX}")
    header = [c.strip().lower() for c in rows[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(
            f"prompts file {path}: no {' or '.join(repr(c) for c in missing)} column in its header {rows[0]}; "
            f"the first row must name the columns, e.g. file,prompt ({FIX})"
        )
    i_file, i_prompt = header.index("file"), header.index("prompt")
    prompts: dict[str, str] = {}
    lines: dict[str, int] = {}
    dupes: list[str] = []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue  # a blank line
        if len(row) <= max(i_file, i_prompt):
            raise InputError(f"{path} row {n}: {len(row)} cells, expected a file and a prompt; {FIX}")
        key = _key(row[i_file], path, n)
        if key in prompts:
            dupes.append(f"{key} (rows {lines[key]} and {n})")
            continue
        prompts[key], lines[key] = row[i_prompt], n
    if dupes:
        more = f" and {len(dupes) - 5} more" if len(dupes) > 5 else ""
        raise InputError(
            f"prompts file {path} names a file twice: {', '.join(dupes[:5])}{more}; keep one prompt per image"
        )
    return PromptTable(path, prompts, lines)
