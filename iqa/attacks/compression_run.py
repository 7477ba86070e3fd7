"""``run_compression_hack``: train the compression-hack preprocessor on one folder, evaluate it on another.

Output folder layout (everything written atomically; a killed run resumes with ``resume=True``):

- ``checkpoint.pt``: training state (weights, optimiser, RNG, loss/validation history);
- ``preprocessor.pt``: the selected weights (a plain state dict, loadable with ``weights_only``);
- ``per_image.csv``: one row per test image, appended as images finish: bits per pixel of plain
  and hacked JPEG and every metric on both (against the original), or the error;
- ``jpeg/<image>.plain.jpg`` and ``.hacked.jpg``: the real files the scores come from.

Every differentiable FR metric in the registry is evaluated (the transfer table); metrics that
cannot be built here (weights not downloaded, optional dependency missing) are listed with the reason.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from iqa.api.core import create, get_spec, list_metrics
from iqa.atomic import atomic_torch_save, atomic_write_bytes, atomic_write_json
from iqa.attacks.compression_hack import (
    HackConfig,
    Preprocessor,
    hack_image,
    result_row,
    train_preprocessor,
)
from iqa.errors import InputError, IQAError
from iqa.io.checkpoints import existing
from iqa.io.folders import list_images
from iqa.io.images import read_image
from iqa.metrics.base import FRMetric

Progress = Callable[[str, int, int], None]


@dataclass
class CompressionRun:
    """What the report needs: settings, per-image rows, metric directions, what was skipped."""

    cfg: HackConfig
    rows: list[dict]
    higher_is_better: dict[str, bool]
    skipped_metrics: dict[str, str]
    history: list[dict]
    failed: list[str] = field(default_factory=list)
    out: Path | None = None


def fr_metric(name: str, **options: object) -> FRMetric:
    """The full-reference metric ``name`` (other kinds are an :class:`InputError`)."""
    m = create(name, **options)
    if not isinstance(m, FRMetric):
        raise InputError(f"{name} is not a full-reference metric; attacks compare an image with its original")
    return m


def transfer_metrics(names: list[str] | None = None) -> tuple[dict[str, FRMetric], dict[str, str]]:
    """Every differentiable FR metric that can be built here (or ``names``); the rest with the reason."""
    names = names or [n for n in list_metrics(kind="fr") if get_spec(n).differentiable]
    built: dict[str, FRMetric] = {}
    skipped: dict[str, str] = {}
    for n in names:
        try:
            built[n] = fr_metric(n).eval()
        except IQAError as e:  # weights not downloaded, optional dependency missing, not full-reference
            skipped[n] = str(e).splitlines()[0]
    return built, skipped


def file_failure(path: Path, e: Exception) -> str:
    """A per-file failure line naming the file once (read errors already start with the path)."""
    return str(e) if str(path) in str(e) else f"{path}: {e}"


def _read_folder(root: Path, progress: Progress | None, label: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    files = list_images(root)
    if not files:
        raise InputError(f"{root}: no images found (expected .png/.jpg/.bmp/... files)")
    images, failed = {}, []
    for i, f in enumerate(files, 1):
        try:
            images[f] = read_image(root / f)
        except IQAError as e:
            failed.append(file_failure(root / f, e))
        if progress:
            progress(label, i, len(files))
    return images, failed


def _write_rows(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    fields = list(dict.fromkeys(k for r in rows for k in r))
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    w.writerows(rows)
    atomic_write_bytes(path, buf.getvalue().encode())


def _read_rows(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k, v in r.items():
            if k not in ("image", "error"):
                r[k] = float(v) if v not in ("", None) else math.nan
    return rows


def run_compression_hack(
    train_dir: str | os.PathLike,
    test_dir: str | os.PathLike,
    out: str | os.PathLike,
    cfg: HackConfig,
    *,
    metrics: list[str] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> CompressionRun:
    """Train on crops of ``train_dir``'s images, evaluate on ``test_dir``'s full images (see module doc)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    spec = get_spec(cfg.metric)
    if spec.kind != "fr" or not spec.differentiable:
        raise InputError(f"--metric {cfg.metric}: the attack needs a differentiable full-reference metric "
                         "(the 'grad' column of `iqa list --kind fr`)")  # fmt: skip
    target = fr_metric(cfg.metric, **dict(cfg.metric_options))
    built, skipped = transfer_metrics(metrics)
    built.setdefault(cfg.metric, target)
    settings = out / "settings.json"
    existing(settings, resume=resume)  # an earlier run in ``out`` is continued only when asked
    atomic_write_json(settings, {"config": asdict(cfg), "train": str(train_dir), "test": str(test_dir)}, indent=1)
    train, failed = _read_folder(Path(train_dir), progress, "reading training images")

    def step(entry: dict) -> None:
        if progress:
            progress(f"training against {cfg.metric}", entry["step"], cfg.steps)

    pre, history = train_preprocessor(
        target, list(train.values()), cfg, checkpoint=out / "checkpoint.pt", resume=resume, on_step=step
    )
    atomic_torch_save(out / "preprocessor.pt", pre.state_dict())
    rows, test_failed = evaluate_folder(pre, Path(test_dir), out, cfg, built, progress=progress)
    return CompressionRun(cfg, rows, {n: m.spec.higher_is_better for n, m in built.items()}, skipped, history,
                          failed + test_failed, out)  # fmt: skip


def evaluate_folder(pre: Preprocessor, root: Path, out: Path, cfg: HackConfig, metrics: dict[str, FRMetric],
                    *, progress: Progress | None = None) -> tuple[list[dict], list[str]]:  # fmt: skip
    """Score every image of ``root`` (resuming ``out/per_image.csv``); rows and unreadable files."""
    files = list_images(root)
    if not files:
        raise InputError(f"{root}: no test images found")
    csv_path = out / "per_image.csv"
    rows = _read_rows(csv_path) if csv_path.exists() else []
    done = {r["image"] for r in rows}
    (out / "jpeg").mkdir(exist_ok=True)
    failed = []
    for i, f in enumerate(files, 1):
        if f not in done:
            try:
                r = hack_image(pre, read_image(root / f), cfg, metrics)
            except IQAError as e:
                failed.append(file_failure(root / f, e))
                continue
            stem = f.replace("/", "__").rsplit(".", 1)[0]
            atomic_write_bytes(out / "jpeg" / f"{stem}.plain.jpg", r.plain_jpeg)
            atomic_write_bytes(out / "jpeg" / f"{stem}.hacked.jpg", r.hacked_jpeg)
            rows.append(result_row(f, r))
            _write_rows(csv_path, rows)  # after every image: a killed run loses at most one
        if progress:
            progress("evaluating with Pillow JPEG", i, len(files))
    return rows, failed
