"""``correlate``: load a MOS dataset, score it with metrics (cached, resumable), analyse agreement."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

from iqa.api import create
from iqa.datasets import MOSDataset, load_dataset
from iqa.errors import InputError
from iqa.evaluation.analysis import CorrelationResult, analyze
from iqa.evaluation.scoring import Progress, score_dataset
from iqa.metrics.base import Metric


def correlate(
    dataset: str | MOSDataset,
    metrics: list[str] | dict[str, Metric],
    *,
    root: str | Path | None = None,
    cache: str | Path,
    split: str | None = None,
    allow_missing: bool = False,
    limit: int | None = None,
    fit: str = "logistic5",
    n_boot: int = 1000,
    seed: int = 0,
    batch_size: int = 16,
    workers: int = 2,
    device: str = "cpu",
    progress: Progress | None = None,
    dataset_options: dict[str, Any] | None = None,
) -> CorrelationResult:
    """Score ``dataset`` (a name with ``root``, or a loaded :class:`MOSDataset`) and analyse.

    ``limit`` keeps the first N records of the split (a quick look); ``allow_missing`` scores the
    images that exist instead of refusing when some are missing.
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
                f"{data.name}: {dropped} records skipped, their files are missing under {data.root}", stacklevel=2
            )
        if len(data) == 0:
            raise InputError(f"{data.name}: none of the images exist under {data.root}")
    else:
        data.check_files()
    built = {n: create(n) for n in metrics} if isinstance(metrics, list) else dict(metrics)
    directions = {n: m.spec.higher_is_better for n, m in built.items()}
    table = score_dataset(data, built, cache, batch_size=batch_size, workers=workers, device=device, progress=progress)
    return analyze(
        table, directions, mos_higher_is_better=data.higher_is_better, group_columns=data.group_columns, fit=fit,
        n_boot=n_boot, seed=seed, dataset=data.name, score_name=data.score_name, split=split or "all",
    )  # fmt: skip
