"""Score a MOS dataset's images with metrics, cached per metric and per image.

Each metric writes ``<cache_dir>/<metric>.csv`` through :class:`iqa.api.results.ResultStore`:
rows are journaled as batches finish, so an interrupted run resumes where it stopped, and a later
run with more metrics only computes the new ones. A cache written with different metric options
is refused rather than mixed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from iqa.api.jobs import ScoreJob, run_job
from iqa.api.results import ResultStore
from iqa.api.settings import RunSettings
from iqa.atomic import atomic_write_text
from iqa.datasets.base import MOSDataset
from iqa.errors import InputError
from iqa.io.folders import Pair
from iqa.metrics.base import FRMetric, Metric


def _items(data: MOSDataset, full_reference: bool) -> list[Pair]:
    refs = data.table["ref"] if full_reference else [None] * len(data)
    return [Pair(file=img, ref=ref) for img, ref in zip(data.table["image"], refs)]


def _check_meta(path: Path, meta: dict) -> None:
    """The cache's settings must equal this run's; the first run records them."""
    if path.exists():
        old = json.loads(path.read_text())
        if old != json.loads(json.dumps(meta)):
            raise InputError(
                f"{path.parent} holds {path.name.removesuffix('.meta.json')} scores computed with {old}; "
                f"this run uses {meta}. Use another --cache/--report folder or delete {path.parent}"
            )
    else:
        atomic_write_text(path, json.dumps(meta, sort_keys=True))


def score_metric(
    data: MOSDataset, name: str, metric: Metric, cache: Path, settings: RunSettings | None = None
) -> pd.DataFrame:
    """``image``, ``<name>``, ``<name>_error`` for every record, computing only what ``cache`` lacks.

    Progress goes to ``settings.progress`` as ``(name, done, total)``.
    """
    settings = settings or RunSettings()
    fr = isinstance(metric, FRMetric)
    if fr and not data.full_reference:
        raise InputError(f"{name} is full-reference but {data.name} has no reference images; use a no-reference metric")
    job = ScoreJob(root=data.root, metrics={name: metric}, ref_root=data.root if fr else None, settings=settings)
    meta = {"metric": job.meta()["metrics"][name], "alpha": job.alpha, "dataset": data.name}
    _check_meta(cache / f"{name}.meta.json", meta)
    store = ResultStore(cache / f"{name}.csv", job.columns, meta, resume=True)
    items = _items(data, fr)
    done = store.done()
    todo = [it for it in items if it.file not in done]
    progress = settings.progress
    if todo:
        for n in run_job(job, todo, set(), store.append):
            if progress:
                progress(name, len(items) - len(todo) + n, len(items))
    elif progress:
        progress(name, len(items), len(items))
    by_file = {r["file"]: r for r in store.finalize()}
    return pd.DataFrame(
        {
            "image": [it.file for it in items],
            name: [_score(by_file[it.file][name]) for it in items],
            f"{name}_error": [by_file[it.file].get("error") or "" for it in items],
        }
    )


def _score(v: Any) -> float:
    return math.nan if v is None else float(v)  # a number, or None where the table holds no score


def score_dataset(
    data: MOSDataset, metrics: dict[str, Metric], cache: str | Path, settings: RunSettings | None = None
) -> pd.DataFrame:
    """One column per metric (and ``<metric>_error``) beside the dataset's records."""
    cache = Path(cache)
    cache.mkdir(parents=True, exist_ok=True)
    table = data.table.copy()
    for name, m in metrics.items():
        cols = score_metric(data, name, m, cache, settings)
        table[name] = cols[name].to_numpy()
        table[f"{name}_error"] = cols[f"{name}_error"].to_numpy()
    return table
