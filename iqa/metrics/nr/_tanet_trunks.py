"""Trunks for TANet's theme and aesthetics branches, by name.

The release uses ResNet-18 with Places365 weights (theme) and NIMA's MobileNetV2 (aesthetics);
neither is available offline, so the EfficientNet-Lite0 that ships with iqa (ImageNet, 1000
logits for the theme branch, its 1280-channel last map for the aesthetics branch) can stand in
for either. All trunks take TANet's ImageNet-normalised input and convert it to their own.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from iqa.errors import InputError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
THEME_TRUNKS = ("resnet18_places365", "efficientnet_lite0")
AES_TRUNKS = ("mobilenet_v2_nima", "efficientnet_lite0")


class _Renormalised(nn.Module):
    """ImageNet-normalised input -> [0, 1] -> (x - 0.5) / 0.5 (EfficientNet-Lite0's convention)."""

    def __init__(self, net: nn.Module, spatial: bool) -> None:
        super().__init__()
        self.net, self.spatial = net, spatial
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = ((x * self.std + self.mean) - 0.5) / 0.5
        return self.net.forward_features(x) if self.spatial else self.net(x)


def theme_trunk(name: str, weights: str | Path | None = None) -> tuple[nn.Module, int]:
    """(module giving (N, D) theme logits, D)."""
    if name == "resnet18_places365":
        from torchvision.models import resnet18

        net = resnet18(num_classes=365)
        if weights is not None:  # the MIT CSAIL checkpoint: {'state_dict': {'module.conv1.weight': ...}}
            from iqa.metrics.nr.tunet import strip_module
            from iqa.weights import load_torch_state

            net.load_state_dict(strip_module(load_torch_state(Path(weights))))
        return net, 365
    if name == "efficientnet_lite0":
        from iqa.features.efficientnet import build_efficientnet_lite0

        return _Renormalised(build_efficientnet_lite0(weights), spatial=False), 1000
    raise InputError(f"unknown theme trunk {name!r}; choose one of {THEME_TRUNKS}")


def aesthetics_trunk(name: str, weights: str | Path | None = None) -> tuple[nn.Module, int]:
    """(module giving an (N, C, h, w) feature map, C)."""
    if name == "mobilenet_v2_nima":
        from iqa.metrics.nr._tanet import mobilenet_v2_features

        feats = mobilenet_v2_features()
        if weights is not None:  # NIMA's mobilenetv2.pth.tar: 'features.*' and 'classifier.*'
            from iqa.weights import load_torch_state

            state = load_torch_state(Path(weights))
            feats.load_state_dict({k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")})
        return feats, 1280
    if name == "efficientnet_lite0":
        from iqa.features.efficientnet import build_efficientnet_lite0

        return _Renormalised(build_efficientnet_lite0(weights), spatial=True), 1280
    raise InputError(f"unknown aesthetics trunk {name!r}; choose one of {AES_TRUNKS}")
