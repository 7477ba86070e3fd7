"""KonIQ-10k (Hosu et al., "KonIQ-10k: An Ecologically Valid Database for Deep Learning of Blind
Image Quality Assessment", IEEE TIP 2020). Official files, from the dataset release and the
``subpic/koniq`` repository:

- ``koniq10k_scores_and_distributions.csv``: ``image_name,c1..c5,c_total,MOS,SD,MOS_zscore``;
  vote counts, ``MOS``/``SD`` on the 1-5 ACR scale, ``MOS_zscore`` rescaled to 0-100.
- ``koniq10k_distributions_sets.csv``: ``image_name,c1..c5,c_total,MOS,SD,set``; vote fractions,
  ``MOS`` on the 0-100 scale, ``SD`` on 1-5, ``set`` in training/validation/test (7058/1000/2015).

Either file is enough; with both, scores come from the first and the split from the second.
``scale="zscore"`` (default, what most papers and piq report) gives 0-100 scores; ``"acr"`` gives
1-5 and needs the scores file. ``std`` is ``SD`` as given (1-5 scale in both files).
"""

from __future__ import annotations

from pathlib import Path

from iqa.datasets._parse import Problems, check_name, check_score, note_duplicates, read_csv_table
from iqa.datasets.base import STANDARD_COLUMNS, MOSDataset, finish_table
from iqa.errors import DatasetFilesError, InputError

SCORES = "koniq10k_scores_and_distributions.csv"
SETS = "koniq10k_distributions_sets.csv"
SET_NAMES = {"training": "train", "validation": "val", "test": "test"}


def _read(path: Path, score_col: str, need_set: bool) -> dict[str, dict]:
    problems = Problems(path)
    required = ["image_name", score_col, "SD"] + (["set"] if need_set else [])
    rows = read_csv_table(path, required, problems)
    note_duplicates([(ln, r["image_name"]) for ln, r in rows], problems)
    out: dict[str, dict] = {}
    for ln, r in rows:
        name = check_name(r["image_name"], ln, problems)
        mos = check_score(r[score_col], ln, problems, score_col)
        std = check_score(r["SD"], ln, problems, "SD")
        split = SET_NAMES.get(r["set"]) if need_set else ""
        if need_set and split is None:
            problems.add(ln, f"set {r['set']!r} is not training/validation/test")
        if name and mos is not None and std is not None and split is not None and name not in out:
            out[name] = {"mos": mos, "std": std, "split": split}
    problems.raise_if_any(f"Fix: {path.name} must be the official KonIQ-10k file (header {','.join(required)}).")
    return out


def load_koniq10k(
    root: str | Path, *, resolution: str = "512x384", scale: str = "zscore", labels: str | Path | None = None
) -> MOSDataset:
    """KonIQ-10k records; images under ``root/<resolution>/`` (``512x384`` or ``1024x768``).

    ``labels`` is the folder holding the CSV files if not ``root``.
    """
    if resolution not in ("512x384", "1024x768"):
        raise InputError(f"resolution must be '512x384' or '1024x768', got {resolution!r}")
    if scale not in ("zscore", "acr"):
        raise InputError(f"scale must be 'zscore' (0-100) or 'acr' (1-5), got {scale!r}")
    root = Path(root)
    lab = Path(labels) if labels is not None else root
    scores_f, sets_f = lab / SCORES, lab / SETS
    if not scores_f.is_file() and not sets_f.is_file():
        raise DatasetFilesError(
            f"{lab}: neither {SCORES} nor {SETS} found. Fix: pass the folder with the KonIQ-10k CSVs"
        )
    if scale == "acr" and not scores_f.is_file():
        raise DatasetFilesError(f"{scores_f}: the 1-5 ACR MOS is only in this file; use scale='zscore' with {SETS}")
    sets = _read(sets_f, "MOS", True) if sets_f.is_file() else {}
    scores = _read(scores_f, "MOS_zscore" if scale == "zscore" else "MOS", False) if scores_f.is_file() else sets
    rows = [
        {
            "image": f"{resolution}/{name}",
            "mos": v["mos"],
            "std": v["std"],
            "split": sets.get(name, {}).get("split", ""),
        }
        for name, v in scores.items()
    ]
    return MOSDataset(
        name="koniq10k",
        root=root,
        table=finish_table(rows, STANDARD_COLUMNS),
        scale=(0.0, 100.0) if scale == "zscore" else (1.0, 5.0),
        score_name="MOS z-score (0-100)" if scale == "zscore" else "MOS (1-5 ACR)",
        split_source=f"official ({SETS})" if sets else "none (no split file)",
        notes={"std": "SD on the 1-5 ACR scale"},
    )
