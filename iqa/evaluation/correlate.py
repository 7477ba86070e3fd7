"""``correlate``: load a MOS dataset, score it with metrics (cached, resumable), analyse agreement."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from iqa.api import create
from iqa.api.settings import RunSettings
from iqa.datasets import MOSDataset, load_dataset
from iqa.errors import InputError
from iqa.evaluation.analysis import CorrelationResult, analyze
from iqa.evaluation.scoring import score_dataset
from iqa.metrics.base import Metric


def select_records(
    dataset: str | MOSDataset,
    *,
    root: str | Path | None = None,
    split: str | None = None,
    limit: int | None = None,
    allow_missing: bool = False,
    dataset_options: dict[str, Any] | None = None,
) -> MOSDataset:
    """The records a correlation run scores: ``dataset`` (a name with ``root``, or loaded), one split.

    ``limit`` keeps the first N records of the split (a quick look); ``allow_missing`` keeps the
    records whose files exist (with a warning) instead of refusing when some are missing.
    """
    if isinstance(dataset, str):
        if root is None:
            raise InputError(f"give the dataset folder: root=... (see `iqa datasets info {dataset}`)")
        data = load_dataset(dataset, root, **(dataset_options or {}))
    else:
        data = dataset
    data = data.subset(split)
    if limit is not None:
        data = replace(data, table=data.table.head(limit).reset_index(drop=True))
    if allow_missing:
        data, dropped = data.drop_missing()
        if dropped:
            warnings.warn(
                f"{data.name}: {dropped} records skipped, their files are missing under {data.root}", stacklevel=3
            )
        if len(data) == 0:
            raise InputError(f"{data.name}: none of the images exist under {data.root}")
    else:
        data.check_files()
    return data


def correlate(
    dataset: str | MOSDataset,
    metrics: list[str] | dict[str, Metric],
    *,
    cache: str | Path,
    root: str | Path | None = None,
    split: str | None = None,
    limit: int | None = None,
    allow_missing: bool = False,
    dataset_options: dict[str, Any] | None = None,
    fit: str = "logistic5",
    n_boot: int = 1000,
    seed: int = 0,
    settings: RunSettings | None = None,
) -> CorrelationResult:
    """Score ``dataset``'s records with ``metrics`` (cached under ``cache``) and analyse agreement.

    Args:
        dataset: a registered name (with ``root``) or a loaded :class:`MOSDataset`.
        metrics: names (built with default options) or name -> metric.
        cache: folder of the per-metric score caches (a rerun resumes, a new metric adds a column).
        root: the dataset's folder, for a name.
        split: "train", "val", "test" or None for all records.
        limit: keep the first N records (a quick look).
        allow_missing: score the records whose files exist instead of refusing.
        dataset_options: loader options (e.g. ``resolution`` for KonIQ-10k).
        fit: mapping fitted before PLCC/RMSE (see :mod:`iqa.evaluation.correlation`).
        n_boot: bootstrap replicates for the confidence intervals (0: none).
        seed: bootstrap seed.
        settings: device, batch size, decoding threads, progress ``(metric, done, total)``.
    """
    data = select_records(dataset, root=root, split=split, limit=limit, allow_missing=allow_missing,
                          dataset_options=dataset_options)  # fmt: skip
    built = {n: create(n) for n in metrics} if isinstance(metrics, list) else dict(metrics)
    directions = {n: m.spec.higher_is_better for n, m in built.items()}
    table = score_dataset(data, built, cache, settings)
    synthetic = synthetic_note(data.root)
    return analyze(
        table, directions, mos_higher_is_better=data.higher_is_better, group_columns=data.group_columns, fit=fit,
        n_boot=n_boot, seed=seed, dataset=data.name, split=split or "all",
        score_name=SYNTHETIC_SCORE if synthetic else data.score_name, notes=[synthetic] if synthetic else [],
        synthetic=bool(synthetic),
    )  # fmt: skip


SYNTHETIC_SCORE = "synthetic score"


def synthetic_note(root: Path) -> str:
    """What ``root/SYNTHETIC.txt`` (written by ``iqa synth``) says, as one line; "" without one.

    Such a dataset's scores are a proxy (KADID format: 6 - distortion level), not human opinion,
    so reports must not call them MOS.
    """
    marker = Path(root) / "SYNTHETIC.txt"
    if not marker.is_file():
        return ""
    try:
        text = " ".join(marker.read_text(encoding="utf-8", errors="replace").split())
    except OSError:
        text = ""
    said = f" {marker.name} says: {text[:400]}" if text else ""
    return f"Synthetic dataset (written by `iqa synth`): its scores are not human opinion scores.{said}"
