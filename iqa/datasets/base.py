"""A MOS dataset: a table of records plus what its scores mean.

Every loader returns a :class:`MOSDataset` whose ``table`` has one row per scored image with the
columns ``image`` (path relative to ``root``), ``ref`` (reference path, full-reference datasets
only), ``mos``, ``std`` (NaN where the dataset gives none), ``split`` (``train``/``val``/``test``
or empty) and the dataset's group columns (distortion type, level, theme...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from iqa.datasets._parse import SHOWN
from iqa.errors import DatasetError, DatasetFilesError, InputError

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Record:
    """One scored image: absolute paths, score, split and group labels."""

    image: Path
    ref: Path | None
    mos: float
    std: float
    split: str
    groups: dict[str, Any]


@dataclass
class MOSDataset:
    """Records of a MOS dataset and the meaning of its scores.

    Attributes:
        name: registry name (``koniq10k``...).
        root: folder the relative ``image``/``ref`` paths are under.
        table: the records (see module docstring).
        scale: (lowest, highest) possible score on the dataset's own scale.
        higher_is_better: direction of ``mos`` (KADID's "dmos" is a MOS: higher is better).
        score_name: what ``mos`` is (e.g. "MOS (1-5)", "ELO").
        group_columns: columns usable for per-group breakdowns.
        split_source: where the ``split`` column comes from (official file, seeded rule...).
    """

    name: str
    root: Path
    table: pd.DataFrame
    scale: tuple[float, float]
    higher_is_better: bool = True
    score_name: str = "MOS"
    group_columns: tuple[str, ...] = ()
    split_source: str = ""
    notes: dict[str, str] = field(default_factory=dict)

    @property
    def full_reference(self) -> bool:
        return "ref" in self.table.columns

    def __len__(self) -> int:
        return len(self.table)

    def split_counts(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.table["split"].value_counts().items() if k}

    def subset(self, split: str | None) -> MOSDataset:
        """Records of one split (``None``: all)."""
        if split is None:
            return self
        if split not in SPLITS:
            raise InputError(f"split must be one of {SPLITS} or None, got {split!r}")
        if not (self.table["split"] == split).any():
            raise InputError(f"{self.name} has no {split!r} records (splits: {self.split_counts() or 'none'})")
        return replace(self, table=self.table[self.table["split"] == split].reset_index(drop=True))

    def records(self) -> list[Record]:
        cols = [c for c in self.group_columns if c in self.table.columns]
        out = []
        for row in self.table.itertuples(index=False):
            r = row._asdict()
            ref = self.root / r["ref"] if self.full_reference and r.get("ref") else None
            out.append(
                Record(
                    self.root / r["image"], ref, float(r["mos"]), float(r["std"]), r["split"], {c: r[c] for c in cols}
                )
            )
        return out

    def normalized_mos(self) -> np.ndarray:
        """Scores mapped to [0, 1] with 1 = best, from ``scale`` and ``higher_is_better``."""
        lo, hi = self.scale
        z = (self.table["mos"].to_numpy(np.float64) - lo) / (hi - lo)
        return z if self.higher_is_better else 1.0 - z

    def missing_files(self) -> list[str]:
        """Relative paths the table names that do not exist under ``root``."""
        names = set(self.table["image"])
        if self.full_reference:
            names |= set(self.table["ref"].dropna())
        return sorted(n for n in names if not (self.root / n).is_file())

    def extra_files(self) -> list[str]:
        """Image files in the folders the labels point into that no record names (e.g. a stray copy)."""
        from iqa.io.folders import IMAGE_EXTENSIONS

        named = set(self.table["image"]) | (set(self.table["ref"].dropna()) if self.full_reference else set())
        folders = {str(Path(n).parent) for n in named}
        extra = []
        for folder in sorted(folders):
            d = self.root / folder
            if d.is_dir():
                extra += [f"{folder}/{f.name}" if folder != "." else f.name for f in d.iterdir()
                          if f.suffix.lower() in IMAGE_EXTENSIONS and (f"{folder}/{f.name}" if folder != "." else f.name) not in named]  # fmt: skip
        return sorted(extra)

    def check_files(self) -> None:
        """Raise :class:`DatasetFilesError` summarising every missing image."""
        missing = self.missing_files()
        if missing:
            shown = ", ".join(missing[:SHOWN]) + (
                f", ... ({len(missing) - SHOWN} more)" if len(missing) > SHOWN else ""
            )
            raise DatasetFilesError(
                f"{self.name}: {len(missing)} of the files its labels name are missing under {self.root}: {shown}. "
                "Point --root at the extracted dataset (see `iqa datasets info "
                f"{self.name}`), or pass --allow-missing to use the images that are there"
            )

    def drop_missing(self) -> tuple[MOSDataset, int]:
        """Records whose files exist, and how many were dropped."""
        missing = set(self.missing_files())
        keep = ~self.table["image"].isin(missing)
        if self.full_reference:
            keep &= ~self.table["ref"].isin(missing)
        return replace(self, table=self.table[keep].reset_index(drop=True)), int((~keep).sum())

    def torch_dataset(self, split: str | None = None, transform: Callable | None = None) -> Any:
        from iqa.datasets.torch_dataset import MOSTorchDataset

        return MOSTorchDataset(self.subset(split), transform=transform)


def finish_table(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """A records table with the standard column order; empty tables are an error."""
    if not rows:
        raise DatasetError("the label files contain no records")
    df = pd.DataFrame(rows)
    for c in ("std",):
        if c not in df:
            df[c] = np.nan
    if "split" not in df:
        df["split"] = ""
    return df[[c for c in columns if c in df.columns] + [c for c in df.columns if c not in columns]]


STANDARD_COLUMNS = ["image", "ref", "mos", "std", "split"]
