"""Seeded splits by content, and the one split-file schema.

Where a dataset has no official split, images are split by *content group* (the reference image
for synthetic-distortion datasets), so no scene appears in both train and test. Groups are
shuffled with ``numpy.random.default_rng(seed)`` (PCG64; stable across numpy versions for a given
seed) after sorting them, then cut by ``ratios`` with the val/test counts rounded and train taking
the remainder. The default seed is 123, as pyiqa's split files use.

Split files (``datasets/<name>/splits/*.csv`` in the repository) hold ``key,split`` rows: ``key``
is the group (reference image) or the image name, ``split`` one of train/val/test.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np

from iqa.datasets._parse import Problems, read_csv_table
from iqa.errors import InputError

DEFAULT_SEED = 123


def seeded_group_split(
    groups: list[str], ratios: tuple[float, ...] = (0.6, 0.2, 0.2), seed: int = DEFAULT_SEED
) -> dict[str, str]:
    """Map each distinct group to train/val/test (``ratios`` of 2 values means train/test)."""
    if len(ratios) not in (2, 3) or any(r < 0 for r in ratios) or abs(sum(ratios) - 1) > 1e-9:
        raise InputError(f"ratios must be 2 or 3 non-negative numbers summing to 1, got {ratios}")
    names = ("train", "test") if len(ratios) == 2 else ("train", "val", "test")
    uniq = sorted(set(groups))
    order = np.random.default_rng(seed).permutation(len(uniq))
    counts = [int(round(r * len(uniq))) for r in ratios[1:]]
    n_train = len(uniq) - sum(counts)
    bounds = np.cumsum([n_train, *counts])
    out: dict[str, str] = {}
    for pos, idx in enumerate(order):
        out[uniq[idx]] = names[int(np.searchsorted(bounds, pos, side="right"))]
    return out


def split_file_text(assignment: dict[str, str]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["key", "split"])
    for k in sorted(assignment):
        w.writerow([k, assignment[k]])
    return buf.getvalue()


def read_split_file(path: str | Path) -> dict[str, str]:
    """``key -> split`` from a split file; bad rows raise one summarising error."""
    path = Path(path)
    problems = Problems(path)
    out: dict[str, str] = {}
    for line, row in read_csv_table(path, ["key", "split"], problems):
        if row["split"] not in ("train", "val", "test"):
            problems.add(line, f"split {row['split']!r} is not train/val/test")
        elif row["key"] in out:
            problems.add(line, f"duplicate key {row['key']!r}")
        else:
            out[row["key"]] = row["split"]
    problems.raise_if_any("Fix: one `key,split` row per key, split in train/val/test.")
    return out
