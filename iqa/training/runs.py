"""Training runs from their inputs to their outputs: what ``iqa train`` does, as library calls.

- :func:`train_tunet_run`: TAD66k-format data -> trained TANet -> ``tunet.safetensors`` (+ record)
  and ``history.json`` in the run folder, and the metric ready to evaluate on the test split;
- :func:`prepare_pretraining` + :func:`pretrain_run`: a pre-training config -> the run folder
  (checkpoint, log, encoder), and optionally the encoder installed as the metric's default weights.

Evaluation against the test split and the report are separate library steps
(:func:`iqa.evaluation.correlate`, :mod:`iqa.reports`); :mod:`iqa.pipelines` chains them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from iqa.atomic import atomic_write_text
from iqa.datasets.base import MOSDataset
from iqa.datasets.registry import load_dataset
from iqa.errors import InputError
from iqa.metrics.nr.tunet import TUNet
from iqa.training.pretrain import PretrainConfig, load_config, pretrain, save_encoder
from iqa.training.pretrain_data import load_sources
from iqa.training.tunet import TUNetTrainConfig, build_model, load_train_images, train_tunet

Progress = Callable[[str, int, int], None]


@dataclass
class TUNetRun:
    """A finished TANet training: the metric, the files written, the test split to evaluate on."""

    metric: TUNet
    weights: Path
    history: list[dict]
    data: MOSDataset  # the whole dataset (its "test" split is the held-out part)
    n_train: int
    n_test: int
    failed: list[str] = field(default_factory=list)  # unreadable training images, "file: reason"


def train_tunet_run(
    dataset: str | MOSDataset,
    out: str | Path,
    cfg: TUNetTrainConfig,
    *,
    root: str | Path | None = None,
    theme_weights: str | Path | None = None,
    aes_weights: str | Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> TUNetRun:
    """Train TANet on the train split of ``dataset`` and store the weights in ``out``.

    Writes ``out/checkpoint.pt`` (after every epoch; ``resume`` continues it), ``out/tunet.safetensors``
    with its record, and ``out/history.json``.

    Raises:
        InputError: the dataset lacks a train or a test split, or no training image is readable.
    """
    if isinstance(dataset, str):
        if root is None:
            raise InputError(f"give the dataset folder: root=... (see `iqa datasets info {dataset}`)")
        data = load_dataset(dataset, root)
    else:
        data = dataset
    train_part, test_part = data.subset("train"), data.subset("test")  # each raises when its split is empty
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    images, targets, failed = load_train_images(train_part)
    model = build_model(cfg, theme_weights, aes_weights)
    model, history = train_tunet(
        model, images, targets, cfg, checkpoint=out / "checkpoint.pt", resume=resume, progress=progress
    )
    weights = save_converted_tunet(model.state_dict(), out, cfg, data.name)
    atomic_write_text(out / "history.json", json.dumps(history, indent=1))
    return TUNetRun(TUNet(model=model), weights, history, data, len(train_part), len(test_part), failed)


def save_converted_tunet(state: dict, out: Path, cfg: TUNetTrainConfig, dataset: str) -> Path:
    """``out/tunet.safetensors`` and its record (the format ``iqa.create("tunet", weights=...)`` reads)."""
    from iqa.weights.converted import save_converted

    return save_converted("tunet", state, source=out / "checkpoint.pt", converter="iqa train tunet",
                          options={**asdict(cfg), "dataset": dataset}, out_dir=out)  # fmt: skip


@dataclass
class PretrainRun:
    """A finished pre-training: config, log, encoder file, what was skipped."""

    config: PretrainConfig
    log: list[dict]
    encoder: Path
    installed: Path | None
    n_images: int
    skipped: list[str]

    def loss_summary(self) -> tuple[float, float, int]:
        """(first loss, mean loss of the last up-to-20 steps, how many steps that mean covers)."""
        last = self.log[-min(20, len(self.log)) :]
        return float(self.log[0]["loss"]), float(np.mean([r["loss"] for r in last])), len(last)


@dataclass
class PretrainData:
    """A pre-training config and its source images, loaded (see :func:`prepare_pretraining`)."""

    method: str
    config: PretrainConfig
    sources: list[np.ndarray]
    skipped: list[str]  # unreadable or too small, "file: reason"


def prepare_pretraining(method: str, config: str | Path, *, steps: int | None = None) -> PretrainData:
    """Read the TOML ``config`` for ``method`` ("contrique" or "qpt") and load its source images."""
    cfg = load_config(Path(config), method=method, steps=steps)
    sources, skipped = load_sources(cfg.images, 2 * cfg.crop)
    return PretrainData(method, cfg, sources, skipped)


def pretrain_run(
    prepared: PretrainData,
    out: str | Path,
    *,
    resume: bool = False,
    install: bool = False,
    progress: Progress | None = None,
) -> PretrainRun:
    """Pre-train into the run folder ``out``: checkpoint, ``log.jsonl``, ``<method>_encoder.safetensors``.

    With ``install`` the encoder is also stored as ``<method>_encoder`` in the weights cache, the
    default of ``iqa.create(method)``.
    """
    out, method, cfg = Path(out), prepared.method, prepared.config
    model, log = pretrain(cfg, prepared.sources, out, resume=resume, progress=progress)
    encoder = save_encoder(model, cfg, out, out / "checkpoint.pt")
    installed = None
    if install:
        from iqa.weights.converted import save_converted

        installed = save_converted(f"{method}_encoder", model.state_dict(), source=out / "checkpoint.pt",
                                   converter=f"iqa train {method}", options={"trunk": model.trunk, "run": str(out)})  # fmt: skip
    return PretrainRun(cfg, log, encoder, installed, len(prepared.sources), prepared.skipped)
