"""torchvision ImageNet trunks cut into the stages perceptual metrics read (LPIPS, DISTS).

The cut points are LPIPS's (richzhang/PerceptualSimilarity ``pretrained_networks.py``): the
outputs of AlexNet ``features[0:2], [2:5], [5:8], [8:10], [10:12]`` (relu1-relu5), VGG16
``features[0:4], [4:9], [9:16], [16:23], [23:30]`` (relu1_2 ... relu5_3) and SqueezeNet 1.1
``features[0:2], [2:5], [5:8], [8:10], [10:11], [11:12], [12:13]``. Weights are torchvision's
checkpoints (``features.N.*`` keys) through the weights manager; there is no silent fallback to
random weights: a missing file is a ``WeightsNotFoundError`` naming it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from iqa.errors import InputError
from iqa.weights import load_torch_state, resolve_weights

CUTS = {
    "alex": ("alexnet", (2, 5, 8, 10, 12), (64, 192, 384, 256, 256), "torchvision_alexnet"),
    "vgg": ("vgg16", (4, 9, 16, 23, 30), (64, 128, 256, 512, 512), "torchvision_vgg16"),
    "squeeze": (
        "squeezenet1_1",
        (2, 5, 8, 10, 11, 12, 13),
        (64, 128, 256, 384, 384, 512, 512),
        "torchvision_squeezenet1_1",
    ),
}


class StagedTrunk(nn.Module):
    """``features`` of a torchvision network, returning the output of every stage."""

    def __init__(self, net: str, weights: str | Path | dict | None = None) -> None:
        super().__init__()
        if net not in CUTS:
            raise InputError(f"net must be one of {sorted(CUTS)}, got {net!r}")
        import torchvision

        arch, self.cuts, self.channels, weight_id = CUTS[net]
        self.features = getattr(torchvision.models, arch)(weights=None).features[: self.cuts[-1]]
        state = weights if isinstance(weights, dict) else load_torch_state(resolve_weights(weight_id, weights))
        own = {k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")}
        missing = [k for k in self.features.state_dict() if k not in own]
        if missing:
            raise InputError(f"{net} trunk weights lack {missing[:3]}...: pass a torchvision {arch} checkpoint")
        self.features.load_state_dict({k: own[k] for k in self.features.state_dict()})
        self.requires_grad_(False)
        self.eval()
        bounds = (0, *self.cuts)
        self._stages = [self.features[a:b] for a, b in zip(bounds[:-1], bounds[1:])]  # views sharing the modules

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outs = []
        for stage in self._stages:
            x = stage(x)
            outs.append(x)
        return outs
