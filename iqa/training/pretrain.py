"""Self-supervised quality pre-training (CONTRIQUE, QPT-style) with checkpoints, resume and logs.

``iqa train contrique|qpt --config FILE``: :class:`PretrainConfig` from a TOML file. The encoder is
:class:`iqa.models.contrique.ContriqueModel` (ResNet-50 as the paper, or ResNet-18 for a small
CPU run). CONTRIQUE: the projections of the 2 x 2 patch features of both views enter the
multi-positive NT-Xent (tau 0.1). QPT-style: the projections of each crop's pooled feature enter the
quality-aware InfoNCE (tau 0.2, the MoCo-v2 default the spec names as a placeholder).

Output folder: ``checkpoint.pt`` (atomic, every ``checkpoint_every`` steps: model, optimiser,
step, log; batches are a function of (seed, step) so resuming repeats nothing), ``log.jsonl`` (one
line per step: loss, lr, seconds), and at the end ``<method>_encoder.safetensors`` with its record.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the backport (a dependency there only, so absent from a 3.11 venv mypy may run in)
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

from iqa.atomic import atomic_write_text
from iqa.errors import InputError
from iqa.io.checkpoints import load_checkpoint, save_checkpoint
from iqa.models.contrique import ContriqueModel
from iqa.training.contrastive import multi_positive_nt_xent, quality_aware_nce
from iqa.training.pretrain_data import contrique_batch, qpt_batch
from iqa.training.schedule import lr_at, param_groups

METHODS = ("contrique", "qpt")


@dataclass
class PretrainConfig:
    """Settings of one run; the paper's CONTRIQUE: trunk resnet50, crop 256, batch 256, lr 0.6, 25 epochs on KADIS + UGC."""

    method: str = "contrique"
    images: list[str] = field(default_factory=list)  # folders of pristine images (searched recursively)
    trunk: str = "resnet50"
    crop: int = 256
    batch: int = (
        8  # B: CONTRIQUE uses B synthetic + B authentic images; QPT-style B contents x 2 degradations x 2 crops
    )
    steps: int = 1000
    lr: float = 0.6
    warmup: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    tau: float = 0.0  # 0: the method's default (0.1 CONTRIQUE, 0.2 QPT-style)
    class_repeats: int = 1  # CONTRIQUE: images per synthetic class in a batch (1 = the release's independent draws)
    authentic: int = -1  # CONTRIQUE: authentic images per batch, each its own class (-1 = batch, as the release)
    max_ops: int = 3  # QPT-style: longest degradation chain
    degradation_weight: float = 1.0  # QPT-style: weight of same-content negatives in the partition
    proj_dim: int = 128
    seed: int = 0
    checkpoint_every: int = 50
    threads: int = 0  # 0: torch's default

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InputError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.batch < 2 or self.crop < 32 or self.steps < 1:
            raise InputError(f"need batch >= 2, crop >= 32 and steps >= 1; got {self.batch}, {self.crop}, {self.steps}")
        if self.tau == 0.0:
            self.tau = 0.1 if self.method == "contrique" else 0.2


def load_config(path: Path, **overrides: object) -> PretrainConfig:
    """A TOML file with the fields of :class:`PretrainConfig`: top-level keys for both methods, then optional
    ``[contrique]`` / ``[qpt]`` tables whose keys apply to that method only. Unknown keys are errors naming
    them; relative ``images`` folders are taken relative to the file.
    """
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise InputError(f"{path}: not a readable TOML config ({e})") from e
    known = {f.name for f in fields(PretrainConfig)}
    method = overrides.get("method") or data.get("method", "contrique")
    per_method = {m: data.pop(m) for m in METHODS if isinstance(data.get(m), dict)}  # [contrique] / [qpt] tables
    data.update(per_method.get(str(method), {}))
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"{path}: unknown keys {unknown}; known: {sorted(known)}")
    data.update({k: v for k, v in overrides.items() if v is not None})
    # relative image folders are relative to the config file, so a config works from any directory
    data["images"] = [str((Path(path).parent / p).resolve()) for p in data.get("images", [])]
    return PretrainConfig(**data)


def step_loss(
    model: ContriqueModel, cfg: PretrainConfig, sources: list[np.ndarray], step: int
) -> tuple[torch.Tensor, dict]:
    """The loss of iteration ``step`` (its batch drawn from (seed, step))."""
    rng = np.random.default_rng([cfg.seed, step])
    if cfg.method == "contrique":
        xa, xb, labels = contrique_batch(
            sources, cfg.batch, cfg.crop, rng, cfg.class_repeats, None if cfg.authentic < 0 else cfg.authentic
        )
        _, _, za, zb, *_ = model(xa, xb)
        return multi_positive_nt_xent(za, zb, labels.repeat_interleave(4, 0), tau=cfg.tau), {}
    crops, content, degr, fallbacks = qpt_batch(sources, cfg.batch, cfg.crop, rng, cfg.max_ops)
    h, _ = model.embed(crops)
    return quality_aware_nce(
        model.projector(h), content, degr, tau=cfg.tau, degradation_weight=cfg.degradation_weight
    ), {"iou_fallbacks": fallbacks}


def _resume(
    model: ContriqueModel, opt: torch.optim.Optimizer, ckpt: Path, cfg: PretrainConfig, resume: bool
) -> tuple[int, list[dict]]:
    state = load_checkpoint(ckpt, asdict(cfg), resume=resume)
    if state is None:
        return 0, []
    model.load_state_dict(state["model"])
    opt.load_state_dict(state["opt"])
    return int(state["step"]), list(state["log"])


def pretrain(cfg: PretrainConfig, sources: list[np.ndarray], out: Path, *, resume: bool = False,
             progress: Callable[[str, int, int], None] | None = None) -> tuple[ContriqueModel, list[dict]]:  # fmt: skip
    """Run (or continue) the pre-training; returns the model and the per-step log."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    model = ContriqueModel(cfg.trunk, proj_dim=cfg.proj_dim)
    opt = torch.optim.SGD(param_groups(model, cfg.weight_decay), lr=cfg.lr, momentum=cfg.momentum)
    ckpt, log_path = out / "checkpoint.pt", out / "log.jsonl"
    start, log = _resume(model, opt, ckpt, cfg, resume)
    atomic_write_text(log_path, "".join(json.dumps(r) + "\n" for r in log))  # drop lines past the checkpoint
    model.train()
    for step in range(start, cfg.steps):
        t0 = time.perf_counter()
        lr = lr_at(step, cfg.steps, cfg.lr, cfg.warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        loss, extra = step_loss(model, cfg, sources, step)
        if not torch.isfinite(loss):
            raise InputError(f"step {step}: the loss is {float(loss)}; lower lr (now {cfg.lr}) or raise batch")
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec = {
            "step": step + 1,
            "loss": float(loss.detach()),
            "lr": lr,
            "seconds": round(time.perf_counter() - t0, 3),
            **extra,
        }
        log.append(rec)
        with log_path.open("a") as f:
            f.write(json.dumps(rec) + "\n")
        if (step + 1) % cfg.checkpoint_every == 0 or step + 1 == cfg.steps:
            save_checkpoint(
                ckpt,
                asdict(cfg),
                {
                    "step": step + 1,
                    "model": model.state_dict(),
                    "opt": opt.state_dict(),
                    "log": log,
                },
            )
        if progress:
            progress(f"{cfg.method} pre-training", step + 1, cfg.steps)
    return model.eval(), log


def save_encoder(model: ContriqueModel, cfg: PretrainConfig, out: Path, source: Path) -> Path:
    """``<method>_encoder.safetensors`` + record in ``out`` (the format the metrics load)."""
    from iqa.weights.converted import save_converted

    return save_converted(f"{cfg.method}_encoder", model.state_dict(), source=source, converter=f"iqa train {cfg.method}",
                          options={"trunk": model.trunk, **{k: v for k, v in asdict(cfg).items() if k != "images"}}, out_dir=out)  # fmt: skip
