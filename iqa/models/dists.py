"""DISTS's trunk: VGG16 ``features`` with every max-pool replaced by L2 pooling, cut into six feature sets.

Paper: Ding, Ma, Wang, Simoncelli, "Image Quality Assessment: Unifying Structure and Texture
Similarity", IEEE TPAMI 2020. Reference implementation: dingkeyan93/DISTS ``DISTS_pytorch``
(``L2pooling`` and the ``stage1``-``stage5`` slices). L2 pooling: sqrt of a 3x3 Hann-weighted
([0.5, 1, 0.5] outer product, normalised) convolution of x^2, stride 2, padding 1, +1e-12 inside the
root. The six feature sets: the [0, 1] input itself and relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
(3 + 64 + 128 + 256 + 512 + 512 = 1475 channels). Weights: torchvision's VGG16 checkpoint through the
weights manager (no silent random init).
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from iqa.weights import load_torch_state, resolve_weights

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CHANNELS = (3, 64, 128, 256, 512, 512)
# (start, end) of each VGG16 ``features`` slice after the pooling that precedes it (pools at 4, 9, 16, 23).
SLICES = ((0, 4), (5, 9), (10, 16), (17, 23), (24, 30))


class L2Pool(nn.Module):
    """sqrt(hann3x3 * x^2), stride 2, padding 1: DISTS's replacement for max-pooling."""

    kernel: torch.Tensor

    def __init__(self, channels: int) -> None:
        super().__init__()
        a = torch.tensor([0.5, 1.0, 0.5])
        k = torch.outer(a, a)
        self.register_buffer("kernel", (k / k.sum()).expand(channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(F.conv2d(x * x, self.kernel, stride=2, padding=1, groups=x.shape[1]) + 1e-12)


class DISTSTrunk(nn.Module):
    """VGG16 features with L2 pooling, returning the six DISTS feature sets.

    Args:
        weights: a torchvision VGG16 state dict (``features.*`` keys) or its file; None: the weights
            manager's ``torchvision_vgg16``.
    """

    def __init__(self, weights: str | Path | dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        import torchvision

        vgg = torchvision.models.vgg16(weights=None).features
        state = (
            weights if isinstance(weights, dict) else load_torch_state(resolve_weights("torchvision_vgg16", weights))
        )
        vgg.load_state_dict({k[len("features.") :]: v for k, v in state.items() if k.startswith("features.")})
        self.stages = nn.ModuleList()
        for i, (a, b) in enumerate(SLICES):
            layers = [] if i == 0 else [L2Pool(CHANNELS[i])]
            self.stages.append(nn.Sequential(*layers, *[vgg[j] for j in range(a, b)]))
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor, raw: torch.Tensor) -> list[torch.Tensor]:
        """``x`` standardised for VGG; ``raw`` (the [0, 1] input) is the first feature set, as the reference returns it."""
        feats = [raw]
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats
