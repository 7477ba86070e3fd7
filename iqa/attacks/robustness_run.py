"""``run_robustness``: each FR metric's score on plain JPEG (clean) and after each attack (attacked).

FR mode as in the MSU Metrics Robustness Benchmark: the attacked image is the JPEG of the original
and the metric compares it with the untouched original. Attacks:

- ``fgsm`` / ``ifgsm`` (:mod:`iqa.attacks.gradient`): white-box, each metric attacked with its own
  gradient on the plain JPEG;
- ``hack:<dir>``: a trained compression-hack preprocessor (an ``iqa attack compression`` output
  folder) applied before the codec at its own quality; the same files are scored by every metric,
  so this is a black-box transfer attack for all metrics but its target.

Rows (image, attack, metric, clean, attacked) go to ``per_image.csv`` after every image, and a
rerun with ``resume=True`` skips what is there.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from iqa.atomic import atomic_write_text
from iqa.attacks.compression_hack import HackConfig, Preprocessor, hack_image, jpeg_decode, jpeg_encode
from iqa.attacks.compression_run import file_failure, transfer_metrics
from iqa.attacks.gradient import ATTACKS
from iqa.errors import InputError, IQAError
from iqa.io.checkpoints import existing
from iqa.io.folders import list_images
from iqa.io.images import read_image
from iqa.metrics.base import FRMetric

Progress = Callable[[str, int, int], None]
FIELDS = ["image", "attack", "metric", "clean", "attacked", "error"]


@dataclass
class RobustnessRun:
    rows: list[dict]
    higher_is_better: dict[str, bool]
    skipped_metrics: dict[str, str]
    attacks: list[str]
    quality: int
    failed: list[str]
    out: Path


def load_hack(folder: str | os.PathLike) -> tuple[Preprocessor, HackConfig]:
    """The preprocessor and settings of an ``iqa attack compression`` output folder."""
    folder = Path(folder)
    weights, settings = folder / "preprocessor.pt", folder / "settings.json"
    if not weights.exists() or not settings.exists():
        raise InputError(
            f"{folder}: not a finished `iqa attack compression` output (needs preprocessor.pt and settings.json)"
        )
    cfg_d = json.loads(settings.read_text())["config"]
    cfg_d["metric_options"] = tuple(tuple(p) for p in cfg_d.get("metric_options", ()))
    pre = Preprocessor()
    pre.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return pre.eval(), HackConfig(**cfg_d)


def _read(path: Path) -> list[dict]:
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        r["clean"], r["attacked"] = float(r["clean"] or "nan"), float(r["attacked"] or "nan")
    return rows


def _write(path: Path, rows: list[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS)
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())


def _gradient_rows(name: str, x: torch.Tensor, quality: int, attack: str, metrics: dict[str, FRMetric]) -> list[dict]:
    plain = jpeg_decode(jpeg_encode(x, quality))[None]
    rows = []
    for m, metric in metrics.items():
        try:
            adv = ATTACKS[attack](metric, plain, x[None])
            adv = (adv * 255).round() / 255  # stored as 8-bit, as a user would save it
            with torch.no_grad():
                rows.append({"image": name, "attack": attack, "metric": m, "clean": float(metric(plain, x[None])),
                             "attacked": float(metric(adv, x[None])), "error": ""})  # fmt: skip
        except IQAError as e:
            rows.append(
                {
                    "image": name,
                    "attack": attack,
                    "metric": m,
                    "clean": float("nan"),
                    "attacked": float("nan"),
                    "error": str(e),
                }
            )
    return rows


def _hack_rows(
    name: str, x: torch.Tensor, attack: str, hack: tuple[Preprocessor, HackConfig], metrics: dict[str, FRMetric]
) -> list[dict]:
    r = hack_image(hack[0], x, hack[1], metrics)
    return [{"image": name, "attack": attack, "metric": m, "clean": a, "attacked": b, "error": r.errors.get(m, "")}
            for m, (a, b) in r.scores.items()]  # fmt: skip


def run_robustness(
    images: str | os.PathLike,
    out: str | os.PathLike,
    *,
    quality: int = 30,
    attacks: tuple[str, ...] = ("fgsm", "ifgsm"),
    metrics: list[str] | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> RobustnessRun:
    """Score every metric on plain JPEG and under every attack for each image of ``images``."""
    out, root = Path(out), Path(images)
    out.mkdir(parents=True, exist_ok=True)
    hacks = {}
    for a in attacks:
        if a.startswith("hack:"):
            hacks[a] = load_hack(a[len("hack:") :])
        elif a not in ATTACKS:
            raise InputError(
                f"unknown attack {a!r}: use {', '.join(ATTACKS)} or hack:<folder of iqa attack compression>"
            )
    built, skipped = transfer_metrics(metrics)
    built = {n: m for n, m in built.items() if m.spec.differentiable}
    if not built:
        raise InputError("no differentiable FR metric could be built; see the reasons above or pass --metrics")
    csv_path = out / "per_image.csv"
    existing(csv_path, resume=resume)  # an earlier run's rows are continued only when asked
    rows = _read(csv_path) if csv_path.exists() else []
    done = {(r["image"], r["attack"]) for r in rows}
    files = list_images(root)
    if not files:
        raise InputError(f"{root}: no images found")
    failed = []
    for i, f in enumerate(files, 1):
        todo = [a for a in attacks if (f, a) not in done]
        if todo:
            try:
                x = (read_image(root / f) * 255).round() / 255
            except IQAError as e:
                failed.append(file_failure(root / f, e))
                todo = []
            for a in todo:
                rows += _hack_rows(f, x, a, hacks[a], built) if a in hacks else _gradient_rows(f, x, quality, a, built)
                _write(csv_path, rows)  # after every (image, attack): nothing finished is lost
        if progress:
            progress("attacking", i, len(files))
    return RobustnessRun(
        rows, {n: m.spec.higher_is_better for n, m in built.items()}, skipped, list(attacks), quality, failed, out
    )
