"""PIPAL (Jinjin et al., "PIPAL: a Large-Scale Image Quality Assessment Dataset for Perceptual
Image Restoration", ECCV 2020), NTIRE 2021 release. Labels: ``Train_Label/A0001.txt ...``, one
``<dist_name>,<ELO>`` line per distorted image, no header (200 references x 116 = 23,200 rows,
ELO 917-1836, higher is better); ``Val_Label/`` in the same format where available.

References are ``Train_Ref/<dist_name.split('_')[0]>.bmp`` (``Val_Ref/`` for validation).
Distorted images are looked up in ``Dist_Imgs/`` (pyiqa), ``Train_Dist/`` (piq) or the release's
``Distortion_1..4/`` folders (``Val_Dist/`` for validation). ``A0001_GG_SS``: ``GG`` is the
distortion group (00-06), ``SS`` the sub-type within it. The split is the release's: train from
``Train_Label``, val from ``Val_Label``; ``split="seeded"`` splits everything by reference instead.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from iqa.datasets._parse import Problems, check_name, check_score, note_duplicates
from iqa.datasets.base import STANDARD_COLUMNS, MOSDataset, finish_table
from iqa.datasets.splits import DEFAULT_SEED, seeded_group_split
from iqa.errors import DatasetFilesError, InputError

NAME = re.compile(r"^(?P<ref>A\d{4})_(?P<group>\d{2})_(?P<sub>\d{2})\.\w+$")
DIST_DIRS = {"train": ("Dist_Imgs", "Train_Dist", "Distortion_1", "Distortion_2", "Distortion_3", "Distortion_4"),
             "val": ("Val_Dist", "Dist_Imgs")}  # fmt: skip
REF_DIRS = {"train": "Train_Ref", "val": "Val_Ref"}


def _index(root: Path, dirs: tuple[str, ...]) -> dict[str, str]:
    """File name -> relative path, over the candidate distortion folders that exist."""
    out: dict[str, str] = {}
    for d in dirs:
        if (root / d).is_dir():
            for name in os.listdir(root / d):
                out.setdefault(name, f"{d}/{name}")
    return out


def _read_label_dir(root: Path, part: str, problems: Problems) -> list[dict]:
    label_dir = root / ("Train_Label" if part == "train" else "Val_Label")
    where = _index(root, DIST_DIRS[part])
    rows, names = [], []
    for txt in sorted(label_dir.glob("*.txt")):
        for ln, line in enumerate(txt.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            fields = line.split(",")
            if len(fields) != 2:
                problems.add(None, f"{txt.name} line {ln}: expected '<dist_name>,<ELO>', got {line[:60]!r}")
                continue
            name, elo = check_name(fields[0], ln, problems), check_score(fields[1], ln, problems, "ELO")
            m = NAME.match(name or "")
            if name and not m:
                problems.add(None, f"{txt.name} line {ln}: {name!r} is not named Axxxx_GG_SS.ext")
            if not (m and name and elo is not None):
                continue
            names.append((ln, name))
            rows.append({"image": where.get(name, f"{DIST_DIRS[part][0]}/{name}"), "ref": f"{REF_DIRS[part]}/{m['ref']}.bmp",
                         "mos": elo, "split": part, "type_group": m["group"], "distortion": f"{m['group']}_{m['sub']}",
                         "content": m["ref"]})  # fmt: skip
    note_duplicates(names, problems)
    return rows


def load_pipal(root: str | Path, *, split: str = "official", seed: int = DEFAULT_SEED) -> MOSDataset:
    """PIPAL records (ELO scores); ``split`` is ``"official"`` or ``"seeded"`` (60/20/20 by reference)."""
    if split not in ("official", "seeded"):
        raise InputError(f"split must be 'official' or 'seeded', got {split!r}")
    root = Path(root)
    if not (root / "Train_Label").is_dir():
        raise DatasetFilesError(
            f"{root / 'Train_Label'}: PIPAL label folder not found. Fix: --root must hold Train_Label/"
        )
    problems = Problems(root / "Train_Label")
    rows = _read_label_dir(root, "train", problems)
    if (root / "Val_Label").is_dir():
        rows += _read_label_dir(root, "val", problems)
    problems.raise_if_any("Fix: each Train_Label/*.txt line must be '<Axxxx_GG_SS.bmp>,<ELO score>'.")
    if split == "seeded":
        assign = seeded_group_split([r["content"] for r in rows], (0.6, 0.2, 0.2), seed)
        for r in rows:
            r["split"] = assign[r["content"]]
    return MOSDataset(
        name="pipal",
        root=root,
        table=finish_table(rows, STANDARD_COLUMNS),
        scale=(800.0, 2000.0),  # ELO has no fixed bounds; this brackets the released range 917-1836
        score_name="ELO",
        group_columns=("type_group", "distortion", "content"),
        split_source="release (Train_Label = train, Val_Label = val)"
        if split == "official"
        else f"seeded by reference, seed {seed}",
        notes={"scale": "ELO is unbounded; (800, 2000) brackets the released range and is used only to normalise"},
    )
