"""Trunks for TANet's theme and aesthetics branches, by name.

The release uses ResNet-18 with Places365 weights (theme) and NIMA's MobileNetV2 (aesthetics);
neither is available offline, so the EfficientNet-Lite0 that ships with iqa (ImageNet, 1000
logits for the theme branch, its 1280-channel last map for the aesthetics branch) can stand in
for either; ``timm:NAME`` builds any timm model with its pretrained weights (downloaded by timm).
All trunks take TANet's ImageNet-normalised input and convert it to their own normalisation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from iqa.errors import InputError, WeightsError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
THEME_TRUNKS = ("resnet18_places365", "efficientnet_lite0")
AES_TRUNKS = ("mobilenet_v2_nima", "efficientnet_lite0")


class _Renormalised(nn.Module):
    """ImageNet-normalised input -> [0, 1] -> the trunk's own mean/std (EfficientNet-Lite0: 0.5, 0.5)."""

    mean: torch.Tensor
    std: torch.Tensor
    own_mean: torch.Tensor
    own_std: torch.Tensor

    def __init__(self, net: Any, spatial: bool, mean: tuple[float, ...] = (0.5,) * 3,
                 std: tuple[float, ...] = (0.5,) * 3) -> None:  # fmt: skip
        # ``net`` is a timm-style model (``forward_features`` for the spatial map), typed Any as timm is untyped.
        super().__init__()
        self.net, self.spatial = net, spatial
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("own_mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("own_std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x * self.std + self.mean) - self.own_mean) / self.own_std
        return self.net.forward_features(x) if self.spatial else self.net(x)


def _timm(name: str, spatial: bool) -> tuple[nn.Module, int]:
    """``timm:NAME``: any timm model with its pretrained weights (downloaded by timm; not offline)."""
    try:
        import timm
    except ImportError as e:
        raise InputError("timm trunks need timm: pip install timm") from e
    try:
        net: Any = timm.create_model(name, pretrained=True)  # timm models carry untyped config attributes
    except Exception as e:  # noqa: BLE001 - unknown name, no network: one clear message
        raise InputError(f"timm trunk {name!r} could not be built with pretrained weights ({type(e).__name__}: {e}); "
                         "offline, use efficientnet_lite0") from e  # fmt: skip
    cfg: dict[str, Any] = dict(net.pretrained_cfg)
    dim = int(net.num_features if spatial else net.num_classes)
    return _Renormalised(net, spatial, tuple(cfg.get("mean", IMAGENET_MEAN)), tuple(cfg.get("std", IMAGENET_STD))), dim


StateMap = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


def _load_into(net: nn.Module, path: Path, select: StateMap, expected: str) -> None:
    """Load a trunk checkpoint (read without unpickling code); any mismatch names the file and what was expected."""
    from iqa.weights import load_torch_state

    try:
        net.load_state_dict(select(load_torch_state(path)))
    except Exception as e:  # noqa: BLE001 - unreadable file, wrong keys or shapes: one clear message
        raise WeightsError(f"{path}: not usable as {expected} ({type(e).__name__}: {str(e)[:200]})") from e


def theme_trunk(name: str, weights: str | Path | None = None) -> tuple[nn.Module, int]:
    """(module giving (N, D) theme logits, D)."""
    if name == "resnet18_places365":
        from torchvision.models import resnet18

        net = resnet18(num_classes=365)
        if weights is not None:  # the MIT CSAIL checkpoint: {'state_dict': {'module.conv1.weight': ...}}
            from iqa.weights.converted import strip_module

            _load_into(net, Path(weights), strip_module, "resnet18_places365.pth.tar (MIT CSAIL Places365)")
        return net, 365
    return _shared_trunk(name, weights, spatial=False, known=THEME_TRUNKS, what="theme")


def aesthetics_trunk(name: str, weights: str | Path | None = None) -> tuple[nn.Module, int]:
    """(module giving an (N, C, h, w) feature map, C)."""
    if name == "mobilenet_v2_nima":
        from iqa.models.tanet import mobilenet_v2_features

        feats = mobilenet_v2_features()
        if weights is not None:  # NIMA's mobilenetv2.pth.tar: 'features.*' and 'classifier.*'

            def features_only(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
                return {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}

            _load_into(feats, Path(weights), features_only, "NIMA's mobilenetv2.pth.tar")
        return feats, 1280
    return _shared_trunk(name, weights, spatial=True, known=AES_TRUNKS, what="aesthetics")


def _shared_trunk(
    name: str, weights: str | Path | None, *, spatial: bool, known: tuple[str, ...], what: str
) -> tuple[nn.Module, int]:
    """The trunks both branches accept: EfficientNet-Lite0 (offline) and ``timm:NAME``."""
    if name == "efficientnet_lite0":
        from iqa.features.efficientnet import build_efficientnet_lite0

        return _Renormalised(build_efficientnet_lite0(weights), spatial=spatial), 1280 if spatial else 1000
    if name.startswith("timm:"):
        return _timm(name[len("timm:") :], spatial=spatial)
    raise InputError(f"unknown {what} trunk {name!r}; choose one of {known} or timm:NAME")
