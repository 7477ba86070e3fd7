"""The compression hack: a tiny network that games a differentiable FR metric through a JPEG codec.

Paper: Siniukov, Kulikov, Vatolin, "Applicability limitations of differentiable full-reference
image-quality metrics", DCC 2023 (MSU). No code was released; this is our design following the
abstract and spec section 7: three global contrast gains and a residual CNN, about 29k parameters,
f(x) = clip(x' + r(x')), applied before the codec (or after it, ``placement="after"``), trained to
maximise a differentiable FR metric between the original and the decoded image through the
differentiable JPEG proxy (:mod:`iqa.transforms.diffjpeg`), selected by exact-rounding validation,
and evaluated with the real codec (Pillow's libjpeg at the same quality). The gains and the last
layer start at zero, so training starts from plain JPEG.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from iqa.errors import InputError
from iqa.io.checkpoints import load_checkpoint, save_checkpoint
from iqa.metrics.base import FRMetric
from iqa.transforms.diffjpeg import diff_jpeg


class Preprocessor(nn.Module):
    """Global contrast stage, then a residual CNN: 3 -> ``width`` conv, ``blocks`` residual blocks, ``width`` -> 3 conv.

    The global stage, x + a_c (x - mean_c(x)) with one learnable gain per channel, gives the network
    an image-wide contrast change, which measurably raises HaarPSI and VIF through JPEG
    (docs/compression_hack.md) and which a 3x3 CNN (receptive field ~27 px) cannot express. Both
    parts start at zero: f = identity.
    """

    def __init__(self, width: int = 16, blocks: int = 6) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.zeros(3))
        self.head = nn.Conv2d(3, width, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(width, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, width, 3, padding=1))
            for _ in range(blocks)
        )
        self.tail = nn.Conv2d(width, 3, 3, padding=1)
        nn.init.zeros_(self.tail.weight)  # f = identity at the start: training starts from plain JPEG
        nn.init.zeros_(self.tail.bias)  # type: ignore[arg-type]  # Conv2d(..., bias=True) has a bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.gain.view(1, 3, 1, 1) * (x - x.mean((2, 3), keepdim=True))
        h = torch.relu(self.head(x))
        for block in self.blocks:
            h = h + block(h)
        return (x + self.tail(h)).clamp(0, 1)


@dataclass(frozen=True)
class HackConfig:
    """Training settings; everything that changes the result is here (and in the checkpoint key)."""

    metric: str
    quality: int = 30
    placement: str = "before"  # "before": JPEG(f(x)); "after": f(JPEG(x))
    crop: int = 128
    batch: int = 8
    steps: int = 300
    lr: float = 1e-4  # the CNN's learning rate (0 keeps it at the identity)
    lr_global: float = 3e-3  # the global contrast gains' learning rate (3 parameters)
    optimizer: str = "adam"  # or "sgd" (momentum 0.9): steps proportional to the gradient
    fidelity: float = 0.0  # weight of ||f(x) - x||^2, 0 = none
    rounding: str = "ste"  # the training surrogate; validation always rounds exactly
    seed: int = 0
    val_every: int = 25  # steps between validations on fixed crops (0 = none)
    val_crops: int = 16
    metric_options: tuple[tuple[str, object], ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.placement not in ("before", "after"):
            raise InputError(f"placement must be 'before' or 'after', got {self.placement!r}")
        if self.optimizer not in ("adam", "sgd"):
            raise InputError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        if not 1 <= self.quality <= 100:
            raise InputError(f"quality must be in 1..100, got {self.quality}")


def hacked_proxy(
    pre: Preprocessor, x: torch.Tensor, cfg: HackConfig, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Decoded image through the differentiable proxy, with the preprocessor where ``cfg`` puts it."""
    if cfg.placement == "before":
        return diff_jpeg(pre(x), cfg.quality, rounding=cfg.rounding, generator=generator)
    return pre(diff_jpeg(x, cfg.quality, rounding=cfg.rounding, generator=generator))


def metric_objective(metric: FRMetric, decoded: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Loss to minimise: -score for similarities, +score for distances (mean over the batch)."""
    score = metric(decoded, original)
    return -score.mean() if metric.spec.higher_is_better else score.mean()


def random_crops(
    images: list[torch.Tensor], n: int, size: int, g: torch.Generator, *, min_std: float = 2 / 255
) -> torch.Tensor:
    """``n`` random ``size`` x ``size`` crops of (3, H, W) images, (n, 3, size, size).

    Nearly flat crops (std below ``min_std``: sky, a uniform background) are drawn again: they
    carry no signal and make information-theoretic metrics undefined (VIF of a constant is 0/0).
    """
    if not images:
        raise InputError("no training images: the training folder is empty or none of its files could be read")
    out = []
    for _ in range(n):
        for _attempt in range(20):
            img = images[int(torch.randint(len(images), (1,), generator=g))]
            h, w = img.shape[-2:]
            if h < size or w < size:
                raise InputError(
                    f"a training image of {h}x{w} is smaller than the crop {size}; use --crop {min(h, w)} or larger images"
                )
            top = int(torch.randint(h - size + 1, (1,), generator=g))
            left = int(torch.randint(w - size + 1, (1,), generator=g))
            crop = img[:, top : top + size, left : left + size]
            if float(crop.std()) >= min_std:
                break
        out.append(crop)
    return torch.stack(out)


def _save(path: Path, step: int, pre: Preprocessor, opt: torch.optim.Optimizer, g: torch.Generator, cfg: HackConfig,
          history: list[dict], best: dict) -> None:  # fmt: skip
    save_checkpoint(path, asdict(cfg), {"step": step, "model": pre.state_dict(), "opt": opt.state_dict(),
                                        "rng": g.get_state(), "history": history, "best": best})  # fmt: skip


@torch.no_grad()
def validation_loss(pre: Preprocessor, metric: FRMetric, crops: torch.Tensor, cfg: HackConfig) -> float:
    """The objective on fixed crops with exact rounding (the surrogate only shapes the gradient)."""
    return float(metric_objective(metric, hacked_proxy(pre, crops, replace(cfg, rounding="ste")), crops))


def train_preprocessor(
    metric: FRMetric,
    images: list[torch.Tensor],
    cfg: HackConfig,
    *,
    checkpoint: Path | None = None,
    resume: bool = False,
    checkpoint_every: int = 50,
    on_step: Callable[[dict], None] | None = None,
) -> tuple[Preprocessor, list[dict]]:
    """Train f on random crops of ``images`` ((3, H, W) float in [0, 1]); returns f and the loss history.

    Every ``cfg.val_every`` steps (and before the first) the objective is measured with exact
    rounding on ``cfg.val_crops`` fixed crops of the training images drawn with another seed; the weights with the best
    validation value are returned (step 0, the identity, included), so a surrogate gradient that
    misleads cannot make the result worse than plain JPEG on those crops. With ``checkpoint``, the
    state is written atomically every ``checkpoint_every`` steps and at the end; ``resume=True``
    continues a stopped run to the same weights an uninterrupted run reaches.
    """
    torch.manual_seed(cfg.seed)
    pre = Preprocessor()
    groups = [
        {"params": [pre.gain], "lr": cfg.lr_global},
        {"params": [p for n, p in pre.named_parameters() if n != "gain"], "lr": cfg.lr},
    ]
    if cfg.optimizer == "adam":
        opt: torch.optim.Optimizer = torch.optim.Adam(groups)
    else:
        opt = torch.optim.SGD(groups, momentum=0.9)
    g = torch.Generator().manual_seed(cfg.seed)
    history: list[dict] = []
    start = 0
    val = (
        random_crops(images, cfg.val_crops, cfg.crop, torch.Generator().manual_seed(cfg.seed + 1))
        if cfg.val_every
        else None
    )
    best: dict = {}
    state = load_checkpoint(checkpoint, asdict(cfg), resume=resume) if checkpoint is not None else None
    if state is not None:
        pre.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        g.set_state(state["rng"])
        start, history, best = int(state["step"]), list(state["history"]), dict(state["best"])
    for p in metric.parameters():
        p.requires_grad_(False)
    if val is not None and not best:
        best = {"step": 0, "val": validation_loss(pre, metric, val, cfg), "model": _copy(pre)}
        history.append({"step": 0, "val": best["val"]})
    for step in range(start, cfg.steps):
        x = random_crops(images, cfg.batch, cfg.crop, g)
        y = hacked_proxy(pre, x, cfg, g)
        loss = metric_objective(metric, y, x)
        if cfg.fidelity:
            loss = loss + cfg.fidelity * ((pre(x) - x) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        entry = {"step": step + 1, "loss": float(loss.detach())}
        if val is not None and ((step + 1) % cfg.val_every == 0 or step + 1 == cfg.steps):
            entry["val"] = validation_loss(pre, metric, val, cfg)
            if entry["val"] < best["val"]:
                best = {"step": step + 1, "val": entry["val"], "model": _copy(pre)}
        history.append(entry)
        if on_step is not None:
            on_step(entry)
        if checkpoint is not None and ((step + 1) % checkpoint_every == 0 or step + 1 == cfg.steps):
            _save(checkpoint, step + 1, pre, opt, g, cfg, history, best)
    if best:
        pre.load_state_dict(best["model"])
        for h in history:  # mark the validation the returned weights come from
            if h["step"] == best["step"] and "val" in h:
                h["selected"] = True
    return pre, history


def _copy(pre: Preprocessor) -> dict:
    return {k: v.detach().clone() for k, v in pre.state_dict().items()}


def jpeg_encode(x: torch.Tensor, quality: int) -> bytes:
    """Pillow's baseline JPEG (libjpeg, 4:2:0) of one (3, H, W) image in [0, 1], stored as 8-bit."""
    a = (x.detach().clamp(0, 1).permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def jpeg_decode(data: bytes) -> torch.Tensor:
    dec = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    return torch.from_numpy(dec.copy()).permute(2, 0, 1).float() / 255


def pillow_jpeg(x: torch.Tensor, quality: int) -> tuple[torch.Tensor, int]:
    """Real JPEG round trip of one (3, H, W) image in [0, 1]: (decoded, number of bytes)."""
    data = jpeg_encode(x, quality)
    return jpeg_decode(data), len(data)


@dataclass
class HackedImage:
    """One test image through plain and hacked JPEG: the decodes, the files, the scores."""

    original: torch.Tensor
    plain: torch.Tensor
    hacked: torch.Tensor
    plain_jpeg: bytes
    hacked_jpeg: bytes
    scores: dict[str, tuple[float, float]]  # metric -> (plain, hacked), NaN where it failed
    errors: dict[str, str]


@torch.no_grad()
def hack_image(pre: Preprocessor, x: torch.Tensor, cfg: HackConfig, metrics: dict[str, FRMetric]) -> HackedImage:
    """Plain and hacked JPEG of ``x`` (3, H, W) with the real codec, each metric against the original."""
    x8 = (x.clamp(0, 1) * 255).round() / 255  # the original as stored
    plain_jpeg = jpeg_encode(x8, cfg.quality)
    plain = jpeg_decode(plain_jpeg)
    if cfg.placement == "before":
        hacked_jpeg = jpeg_encode(pre(x8[None])[0], cfg.quality)
        hacked = jpeg_decode(hacked_jpeg)
    else:
        hacked_jpeg = plain_jpeg  # the post-filter runs at the decoder: the file is the plain one
        hacked = (pre(plain[None])[0].clamp(0, 1) * 255).round() / 255  # what a user would store
    scores, errors = {}, {}
    for name, m in metrics.items():
        try:
            scores[name] = (float(m(plain[None], x8[None])), float(m(hacked[None], x8[None])))
        except InputError as e:  # e.g. an image smaller than the metric's minimum size
            scores[name], errors[name] = (float("nan"), float("nan")), str(e)
    return HackedImage(x8, plain, hacked, plain_jpeg, hacked_jpeg, scores, errors)


def result_row(name: str, r: HackedImage) -> dict:
    """One CSV row: bits per pixel of both files, every metric on both, and per-metric errors."""
    pixels = r.original.shape[-2] * r.original.shape[-1]
    row: dict = {
        "image": name,
        "bpp_plain": 8 * len(r.plain_jpeg) / pixels,
        "bpp_hacked": 8 * len(r.hacked_jpeg) / pixels,
    }
    for m, (a, b) in r.scores.items():
        row[f"{m}_plain"], row[f"{m}_hacked"] = a, b
    row["error"] = "; ".join(f"{m}: {e}" for m, e in r.errors.items())
    return row


def evaluate_hack(
    pre: Preprocessor, images: dict[str, torch.Tensor], cfg: HackConfig, metrics: dict[str, FRMetric]
) -> list[dict]:
    """Per image: each metric on plain JPEG and on hacked JPEG (both vs the original), and bits per pixel."""
    return [result_row(name, hack_image(pre, x, cfg, metrics)) for name, x in images.items()]
