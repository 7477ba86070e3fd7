"""TAD66k (He et al., "Rethinking Image Aesthetics Assessment: Models, Datasets and Benchmarks",
IJCAI 2022; woshidandan/TANet). Labels from the release's ``dataset.zip``:
``merge/train.csv`` (52,248 rows) and ``merge/test.csv`` (14,079), columns ``image,score``, scores
1-10 (the mean rating); ``unmerge/{train,test}/<theme>.csv`` give each image's theme (47 themes),
kept as the ``theme`` group column when present. The split is the official train/test.
"""

from __future__ import annotations

from pathlib import Path

from iqa.datasets._parse import Problems, check_name, check_score, note_duplicates, read_csv_table
from iqa.datasets.base import STANDARD_COLUMNS, MOSDataset, finish_table
from iqa.errors import DatasetFilesError


def _label_dir(root: Path, labels: Path | None) -> Path:
    for cand in ([labels] if labels is not None else []) + [root / "dataset", root / "labels", root]:
        if (cand / "merge" / "train.csv").is_file():
            return cand
        if (cand / "train.csv").is_file() and (cand / "test.csv").is_file():
            return cand.parent if cand.name == "merge" else cand
    raise DatasetFilesError(
        f"{root}: TAD66k labels not found (looked for merge/train.csv under {labels or root}, {root}/dataset, "
        f"{root}/labels). Fix: extract the release's dataset.zip under --root or pass labels=FOLDER"
    )


def _themes(lab: Path, problems: Problems) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in ("train", "test"):
        for f in sorted((lab / "unmerge" / part).glob("*.csv")):
            for ln, r in read_csv_table(f, ["image", "score"], Problems(f)):
                prev = out.setdefault(r["image"], f.stem)
                if prev != f.stem:
                    problems.add(None, f"{f.name} line {ln}: {r['image']!r} is also in theme {prev!r}")
    return out


def load_tad66k(root: str | Path, *, image_dir: str = "images", labels: str | Path | None = None) -> MOSDataset:
    """TAD66k records; images under ``root/<image_dir>/``, labels found under ``root`` or ``labels``."""
    root = Path(root)
    lab = _label_dir(root, Path(labels) if labels is not None else None)
    merge = lab / "merge" if (lab / "merge").is_dir() else lab
    rows, names = [], []
    problems = Problems(merge)
    themes = _themes(lab, problems)
    for part in ("train", "test"):
        path = merge / f"{part}.csv"
        part_problems = Problems(path)
        for ln, r in read_csv_table(path, ["image", "score"], part_problems):
            name, score = check_name(r["image"], ln, part_problems), check_score(r["score"], ln, part_problems, "score")
            if score is not None and not 1.0 <= score <= 10.0:
                part_problems.add(ln, f"score {score} outside the 1-10 scale")
            elif name and score is not None:
                names.append((ln, name))
                rows.append(
                    {"image": f"{image_dir}/{name}", "mos": score, "split": part, "theme": themes.get(name, "")}
                )
        problems.items += [f"{path.name} {p}" for p in part_problems.items]
    note_duplicates(names, problems)
    problems.raise_if_any("Fix: merge/train.csv and merge/test.csv must be TAD66k's (header image,score, scores 1-10).")
    return MOSDataset(
        name="tad66k",
        root=root,
        table=finish_table(rows, STANDARD_COLUMNS),
        scale=(1.0, 10.0),
        score_name="mean aesthetic rating (1-10)",
        group_columns=("theme",) if themes else (),
        split_source="official (merge/train.csv, merge/test.csv)",
    )
