"""NIMA, the Neural IMage Assessment network behind the ``nima*`` metrics, and its input path.

Paper: Talebi & Milanfar, "NIMA: Neural Image Assessment", IEEE TIP 27(8), 2018: an ImageNet
trunk, global average pooling and a 10-way softmax over the rating bins 1..10 (AVA), scored by its
mean. Released weights: the widely used converted release of IQA-PyTorch (pyiqa),
https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/ ``NIMA_VGG16_ava-dc4e8265.pth``,
``NIMA_InceptionV2_ava-b0c77c00.pth`` (timm ``inception_resnet_v2``; pyiqa's default ``nima``),
``NIMA_koniq-250367ae.pth`` and ``NIMA-spaq-46a7fcb7.pth`` (the same trunk with one linear output,
technical quality on pyiqa's ``~0..~1`` scale). Each file holds ``{"params": state_dict}``.

Layout of those files, kept here so they load with ``strict=True`` unchanged:
``base_model.*`` is timm's ``features_only`` model of the trunk (``FeatureListNet`` keys such as
``features_0.weight`` for VGG16, ``conv2d_1a.conv.weight`` ... ``conv2d_7b.bn.*`` for
Inception-ResNet-v2), built here from timm's architecture with ``pretrained=False`` (nothing is
downloaded); ``classifier.2`` is the linear layer (index 0 flattens, index 1 is the release's
dropout of rate 0, an identity at inference). The release (yunxiaoshi/Neural-IMage-Assessment as
modified in pyiqa) pools every trunk's last feature map by its global average.

Input path of the release at inference: resize the shorter side to the trunk's input size (224
for VGG16, 299 for Inception-ResNet-v2; bilinear with antialiasing, torchvision's tensor resize),
centre crop to a square of that size, normalise with the trunk's timm statistics (ImageNet
mean/std for VGG16, 0.5/0.5 for Inception-ResNet-v2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError

Trunk = Literal["vgg16", "inception_resnet_v2"]  # the released trunks; NIMA takes any timm name


@dataclass(frozen=True)
class Release:
    """One released NIMA checkpoint: its trunk, number of outputs and manifest id."""

    trunk: str
    outputs: int  # 10: AVA rating distribution; 1: a quality score regressed directly
    weights_id: str
    filename: str


RELEASES: dict[str, Release] = {
    "ava": Release("inception_resnet_v2", 10, "nima_inception_resnet_v2_ava", "NIMA_InceptionV2_ava-b0c77c00.pth"),
    "vgg16_ava": Release("vgg16", 10, "nima_vgg16_ava", "NIMA_VGG16_ava-dc4e8265.pth"),
    "koniq": Release("inception_resnet_v2", 1, "nima_koniq", "NIMA_koniq-250367ae.pth"),
    "spaq": Release("inception_resnet_v2", 1, "nima_spaq", "NIMA-spaq-46a7fcb7.pth"),
}


def resize_center_crop(x: torch.Tensor, size: int) -> torch.Tensor:
    """Shorter side to ``size`` (bilinear, antialiased), then the centred ``size`` x ``size`` square.

    The arithmetic is torchvision's ``resize(x, size)`` + ``center_crop(x, size)`` on tensors, which
    the release runs: the longer side becomes ``int(size * long / short)``, the crop offset
    ``int(round((side - size) / 2))``; an image whose shorter side is already ``size`` is not resampled.
    """
    h, w = x.shape[-2:]
    short, long = min(h, w), max(h, w)
    if short != size:
        other = int(size * long / short)
        out = (size, other) if h <= w else (other, size)
        x = F.interpolate(x, size=out, mode="bilinear", align_corners=False, antialias=True)
    h, w = x.shape[-2:]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return x[..., top : top + size, left : left + size]


class NIMA(nn.Module):
    """Trunk features -> global average pool -> linear (-> softmax over 10 bins).

    The input side and normalisation come from timm's ``pretrained_cfg`` of the trunk, as the
    release reads them (224 and ImageNet mean/std for ``vgg16``; 299 and 0.5/0.5 for
    ``inception_resnet_v2``).

    Args:
        trunk: timm name of the trunk: ``vgg16`` or ``inception_resnet_v2`` for the releases; any
            timm model with ``features_only`` support for a NIMA trained on another (as pyiqa allows).
        outputs: 10 for the AVA rating distribution (softmax), 1 for a direct score.
    """

    def __init__(self, trunk: str = "inception_resnet_v2", outputs: int = 10) -> None:
        super().__init__()
        import timm

        self.trunk, self.outputs = trunk, outputs
        # the release's trunk: timm's features_only model; pretrained=False, the checkpoint holds every weight
        base: Any = timm.create_model(trunk, pretrained=False, features_only=True)
        self.base_model = base
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Identity(), nn.Linear(base.feature_info.channels()[-1], outputs)
        )
        cfg = base.pretrained_cfg
        self.input_size = int(cfg["input_size"][-1])
        self.mean: torch.Tensor
        self.std: torch.Tensor
        self.register_buffer("mean", torch.tensor(cfg["mean"]).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(cfg["std"]).view(1, 3, 1, 1), persistent=False)

    @property
    def linear(self) -> nn.Linear:
        """The head's linear layer (``classifier.2`` in the release's keys)."""
        layer = self.classifier[2]
        assert isinstance(layer, nn.Linear)
        return layer

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> the trunk's normalised (N, 3, S, S) centre crop."""
        x = resize_center_crop(x, self.input_size)
        return (x - self.mean) / self.std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalised crops -> (N, 10) rating distribution, or (N, 1) score for a one-output release."""
        f = self.base_model(x)[-1].mean((2, 3))
        out = self.classifier(f)
        return out.softmax(-1) if self.outputs > 1 else out

    def score(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N,): the mean rating sum_i i p_i, or the direct output."""
        out = self(self.preprocess(x))
        if self.outputs == 1:
            return out[:, 0]
        bins = torch.arange(1, self.outputs + 1, dtype=out.dtype, device=out.device)
        return out @ bins


def read_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A released checkpoint's state dict: ``{"params": ...}`` unwrapped, DataParallel prefixes removed."""
    from iqa.weights import load_torch_state

    state: Any = load_torch_state(Path(path))
    for key in ("params", "state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a state dict (a NIMA checkpoint holds {{'params': state_dict}})")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_nima(release: str, weights: str | Path | None = None) -> NIMA:
    """The NIMA of ``release`` (a key of :data:`RELEASES`) with its weights loaded strictly.

    ``weights=None`` resolves the released file through the weights manager (verified against the
    manifest; a clear error naming the file and ``iqa weights fetch`` when absent). A path is loaded
    as given: a checkpoint in the release's layout, e.g. one trained with pyiqa's NIMA.
    """
    from iqa.weights import resolve_weights

    rel = RELEASES[release]
    path = Path(weights) if weights is not None else resolve_weights(rel.weights_id)
    if not path.is_file():
        raise InputError(f"{path}: no such NIMA weights file")
    model = NIMA(rel.trunk, rel.outputs)
    try:
        model.load_state_dict(read_state(path), strict=True)
    except RuntimeError as e:
        raise InputError(f"{path} is not a NIMA {rel.trunk} checkpoint with {rel.outputs} output(s): {e}") from e
    return model.eval().requires_grad_(False)
