"""Any MOS dataset described by one CSV: you name the columns, the scale and the direction.

Example: ``load_csv_dataset("labels.csv", root="imgs/", image="dis_img_path", ref="ref_img_path",
mos="score", groups=["dis_type"])``. Without ``split``, records are split 60/20/20 by ``content``
(the reference column if there is one, else the image), seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from iqa.datasets._parse import Problems, check_name, check_score, note_duplicates, read_csv_table, require_file
from iqa.datasets.base import SPLITS, STANDARD_COLUMNS, MOSDataset, finish_table
from iqa.datasets.splits import DEFAULT_SEED, seeded_group_split
from iqa.errors import InputError


def load_csv_dataset(
    path: str | Path,
    *,
    root: str | Path | None = None,
    image: str = "image",
    mos: str = "mos",
    ref: str | None = None,
    std: str | None = None,
    split: str | None = None,
    groups: Sequence[str] = (),
    scale: tuple[float, float] | None = None,
    higher_is_better: bool = True,
    name: str = "csv",
    seed: int = DEFAULT_SEED,
) -> MOSDataset:
    """Records from a headed CSV; paths are relative to ``root`` (default: the CSV's folder)."""
    path = require_file(Path(path), "label CSV", "Fix: pass the path of the CSV that lists images and scores")
    root = Path(root) if root is not None else path.parent
    problems = Problems(path)
    cols = [c for c in (image, mos, ref, std, split, *groups) if c]
    table = read_csv_table(path, cols, problems)
    note_duplicates([(ln, r[image]) for ln, r in table], problems)
    rows: list[dict[str, Any]] = []
    for ln, r in table:
        img = check_name(r[image], ln, problems, image)
        score = check_score(r[mos], ln, problems, mos)
        row = {"image": img, "mos": score}
        if ref:
            row["ref"] = check_name(r[ref], ln, problems, ref)
        if std:
            row["std"] = check_score(r[std], ln, problems, std)
        if split:
            row["split"] = {"training": "train", "validation": "val"}.get(r[split], r[split])
            if row["split"] not in SPLITS:
                problems.add(ln, f"{split} {r[split]!r} is not train/val/test")
        row.update({g: r[g] for g in groups})
        if None not in row.values():
            rows.append(row)
    problems.raise_if_any(f"Fix: {path.name} needs the columns {cols} with one image per row and numeric scores.")
    if not split:
        key = "ref" if ref else "image"
        assign = seeded_group_split([str(r[key]) for r in rows], (0.6, 0.2, 0.2), seed)
        for r in rows:
            r["split"] = assign[r[key]]
    df = finish_table(rows, STANDARD_COLUMNS)
    if scale is None:
        scale = (float(df["mos"].min()), float(df["mos"].max()))
    elif scale[0] >= scale[1]:
        raise InputError(f"scale must be (low, high) with low < high, got {scale}")
    return MOSDataset(
        name=name, root=root, table=df, scale=scale, higher_is_better=higher_is_better, score_name=mos,
        group_columns=tuple(groups), split_source=f"column {split!r}" if split else f"seeded by {'reference' if ref else 'image'}, seed {seed}",
    )  # fmt: skip
