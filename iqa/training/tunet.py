"""Training TANet (the ``tunet`` metric) on TAD66k-format data.

As the release (``woshidandan/TANet`` code/TAD66K, spec section 5.3): targets score / 10, MSE on the
sigmoid output, train transform Resize((256, 256)) -> random horizontal flip -> random 224 crop,
test transform Resize((224, 224)), Adam without decay, the theme trunk frozen (its BatchNorm
statistics still move in training mode, as in the release unless ``theme_bn="eval"``), each
image flipped and cropped at its own random position (the release's per-sample transforms). Our
choices: the theme branch in per-image mode by default (batch-independent scores; ``mode="compat"``
trains the release's batch-coupled forward), recorded with the weights so the metric runs the mode
they were trained in; trunks by name (:mod:`iqa.models.tanet_trunks`), a checkpoint after every
epoch (atomic; ``resume`` continues to the same weights), seeded shuffling, flips and crops.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from iqa.datasets.base import MOSDataset
from iqa.errors import InputError
from iqa.io.checkpoints import load_checkpoint, save_checkpoint
from iqa.io.images import read_image
from iqa.models.tanet import MEAN, STD, Mode, TANet
from iqa.models.tanet_trunks import aesthetics_trunk, theme_trunk

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class TUNetTrainConfig:
    epochs: int = 10
    batch: int = 16
    lr: float = 3e-4  # option.py's default for every group
    theme_trunk: str = "resnet18_places365"
    aes_trunk: str = "mobilenet_v2_nima"
    theme_bn: str = "train"  # "train": the release's drifting statistics; "eval": truly frozen
    seed: int = 0
    mode: Mode = "per_image"  # theme-branch forward; saved in the weights' record (iqa.models.tanet_weights)


def emd_loss(pred: torch.Tensor, target: torch.Tensor, r: float = 2.0) -> torch.Tensor:
    """Earth mover's distance between (N, 10) rating distributions, as the release's ``util.EDMLoss``:
    mean over images of (mean_k |CDF_pred(k) - CDF_target(k)|^r)^(1/r). The AVA code ships r = 1 (its
    comment asks for r = 2 in training; NIMA uses 2).
    """
    if pred.shape != target.shape or pred.dim() != 2:
        raise InputError(
            f"emd_loss needs two (N, bins) distributions, got {tuple(pred.shape)} and {tuple(target.shape)}"
        )
    diff = (torch.cumsum(pred, 1) - torch.cumsum(target, 1)).abs()
    return (diff**r).mean(1).pow(1 / r).mean()


def _normalise(x: torch.Tensor) -> torch.Tensor:
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def load_train_images(data: MOSDataset, size: int = 256) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Every image of ``data`` resized to ``size`` x ``size`` (uint8, N x 3 x size x size), targets score/10, failures."""
    images, targets, failed = [], [], []
    for rec in data.table.itertuples():
        try:
            x = read_image(data.root / rec.image)[None]
        except Exception as e:  # noqa: BLE001 - recorded per file, training goes on without it
            failed.append(f"{rec.image}: {e}")
            continue
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        images.append((x[0] * 255).round().to(torch.uint8))
        targets.append(float(rec.mos) / 10.0)
    if not images:
        raise InputError(f"{data.name}: no readable training images under {data.root}")
    return torch.stack(images), torch.tensor(targets), failed


def crop_positions(n: int, size: int, g: torch.Generator) -> torch.Tensor:
    """(n, 2) top-left corners of 224 crops, one uniform draw per image as the release's per-sample ``RandomCrop``."""
    return torch.randint(0, size - 224 + 1, (n, 2), generator=g)


def augment_batch(images: torch.Tensor, idx: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Each image of ``images[idx]`` (256 x 256 uint8) randomly flipped and cropped to 224 at its own
    position, ImageNet-normalised: the release's train transform applied image by image.
    """
    x = images[idx].float() / 255
    flip = torch.rand(len(idx), generator=g) < 0.5
    x[flip] = x[flip].flip(-1)
    corners = crop_positions(len(idx), images.shape[-1], g)
    crops = [img[:, t : t + 224, left : left + 224] for img, (t, left) in zip(x, corners.tolist())]
    return _normalise(torch.stack(crops))


def build_model(
    cfg: TUNetTrainConfig, theme_weights: str | Path | None = None, aes_weights: str | Path | None = None
) -> TANet:
    torch.manual_seed(cfg.seed)
    t, t_dim = theme_trunk(cfg.theme_trunk, theme_weights)
    a, a_dim = aesthetics_trunk(cfg.aes_trunk, aes_weights)
    return TANet(variant="tad66k", mode=cfg.mode, theme_trunk=t, theme_dim=t_dim, aes_trunk=a, aes_dim=a_dim)


def train_tunet(
    model: TANet,
    images: torch.Tensor,
    targets: torch.Tensor,
    cfg: TUNetTrainConfig,
    *,
    checkpoint: Path | None = None,
    resume: bool = False,
    progress: Progress | None = None,
) -> tuple[TANet, list[dict]]:
    """Train ``model`` on 256 x 256 uint8 ``images`` with ``targets`` = score / 10; returns it and the epoch log."""
    for p in model.res365_last.parameters():
        p.requires_grad_(False)  # the release freezes the theme trunk
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    start = 0
    state = load_checkpoint(checkpoint, asdict(cfg), resume=resume) if checkpoint is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        g.set_state(state["rng"])
        torch.set_rng_state(state["torch_rng"])  # dropout draws from the global generator
        start, history = int(state["epoch"]), list(state["history"])
    n = len(images)
    steps = (n + cfg.batch - 1) // cfg.batch
    for epoch in range(start, cfg.epochs):
        model.train()
        if cfg.theme_bn == "eval":
            model.res365_last.eval()
        order = torch.randperm(n, generator=g)
        total = 0.0
        for s in range(steps):
            idx = order[s * cfg.batch : (s + 1) * cfg.batch]
            if len(idx) < 2:  # BatchNorm1d in training mode needs two samples
                continue
            loss = F.mse_loss(model(augment_batch(images, idx, g)), targets[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            if progress:
                progress(f"epoch {epoch + 1}/{cfg.epochs}", s + 1, steps)
        history.append({"epoch": epoch + 1, "train_mse": total / n})
        if checkpoint is not None:
            save_checkpoint(checkpoint, asdict(cfg), {"epoch": epoch + 1, "model": model.state_dict(), "opt": opt.state_dict(),
                            "rng": g.get_state(), "torch_rng": torch.get_rng_state(), "history": history})  # fmt: skip
    return model.eval(), history
