"""LPIPS: learned perceptual image patch similarity (v0.1).

Paper: Zhang, Isola, Efros, Shechtman, Wang, "The Unreasonable Effectiveness of Deep Features as a
Perceptual Metric", CVPR 2018. Reference implementation: richzhang/PerceptualSimilarity, PyPI
``lpips`` 0.1.4 (``LPIPS(net=..., version='0.1')``).

Pipeline, as the reference: images in [-1, 1] -> ``(x - shift) / scale`` with shift
(-0.030, -0.088, -0.188) and scale (0.458, 0.448, 0.450) -> ImageNet trunk stages (see
:mod:`iqa.features.imagenet_trunks`) -> each stage's features divided by their channel L2 norm
(+1e-10) -> squared difference -> 1x1 convolution (the v0.1 linear head, no bias) -> spatial mean
-> sum over stages. Lower is more similar.

Input range: iqa metrics take images in [0, data_range] and the [-1, 1] mapping happens here, so
the classic mistake (feeding [0, 1] images to a model that expects [-1, 1], or the reverse) cannot
happen: values outside [0, data_range] are an error that names the fix.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from iqa.checks import check_pair
from iqa.errors import InputError
from iqa.features.imagenet_trunks import CUTS, StagedTrunk
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, OfflineBuild, register_metric
from iqa.weights import load_torch_state, resolve_weights

SHIFT = (-0.030, -0.088, -0.188)
SCALE = (0.458, 0.448, 0.450)


def _heads(net: str, path: str | Path | None) -> nn.ModuleList:
    state = load_torch_state(resolve_weights(f"lpips_{net}_v0.1", path))
    heads = nn.ModuleList()
    for k, ch in enumerate(CUTS[net][2]):
        w = state.get(f"lin{k}.model.1.weight")
        if w is None or w.shape != (1, ch, 1, 1):
            raise InputError(f"LPIPS {net} head file lacks lin{k}.model.1.weight of shape (1, {ch}, 1, 1)")
        conv = nn.Conv2d(ch, 1, 1, bias=False)
        conv.weight.data.copy_(w)
        heads.append(conv)
    return heads.requires_grad_(False)


def lpips(
    img: torch.Tensor, ref: torch.Tensor, *, trunk: StagedTrunk, heads: nn.ModuleList, data_range: float = 1.0
) -> torch.Tensor:
    """LPIPS v0.1 distance per image pair, (N,); lower is more similar.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``.
        ref: reference images, same shape.
        trunk: the ImageNet trunk's stages (weights loaded), e.g. ``StagedTrunk("alex", state)``.
        heads: the v0.1 linear heads of that trunk, one 1x1 convolution per stage.
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).

    Returns:
        Tensor (N,) in the input's compute dtype (the network runs in its weights' dtype).
    """
    check_pair(img, ref, data_range=data_range, channels=(3,), min_size=16)
    net_dtype = next(heads.parameters()).dtype
    shift = torch.tensor(SHIFT, dtype=net_dtype, device=img.device).view(1, 3, 1, 1)
    scale = torch.tensor(SCALE, dtype=net_dtype, device=img.device).view(1, 3, 1, 1)

    def scaled(x: torch.Tensor) -> torch.Tensor:
        # Divide by data_range before the cast, so [0, 255] and [0, 1] inputs give the same pixels.
        return ((x / data_range).to(net_dtype) * 2 - 1 - shift) / scale

    f0, f1 = trunk(scaled(img)), trunk(scaled(ref))
    total = torch.zeros(img.shape[0], dtype=net_dtype, device=img.device)
    for a, b, head in zip(f0, f1, heads):
        a = a / (a.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        b = b / (b.pow(2).sum(1, keepdim=True).sqrt() + 1e-10)
        total = total + head((a - b).pow(2)).mean((1, 2, 3))
    return total.to(compute_dtype(img))


@register_metric(
    MetricSpec(
        name="lpips",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="rgb",
        paper="Zhang et al., 'The Unreasonable Effectiveness of Deep Features as a Perceptual Metric', CVPR 2018",
        reference_impl="richzhang/PerceptualSimilarity, PyPI lpips 0.1.4, LPIPS v0.1 (alex, vgg, squeeze)",
        tolerance="1e-6 absolute vs the lpips package with the same trunk state dict and heads (float32)",
        weights=(
            "lpips_alex_v0.1",
            "lpips_vgg_v0.1",
            "lpips_squeeze_v0.1",
            "torchvision_alexnet",
            "torchvision_vgg16",
            "torchvision_squeezenet1_1",
        ),  # fmt: skip
        min_size=16,
        offline=OfflineBuild(files=(("heads", "lpips/alex.pth"),), stand_ins=(("trunk", "imagenet_alexnet_trunk"),)),
        summary="learned perceptual distance on ImageNet features (v0.1 heads); net= alex | vgg | squeeze",
    )
)
class LPIPS(FRMetric):
    """LPIPS v0.1 distance, (N,) per image pair.

    Args:
        net: the ImageNet trunk whose features are compared (the v0.1 heads exist for these three).
        heads: v0.1 linear heads file (the lpips package's ``weights/v0.1/<net>.pth``); None: ``lpips_<net>_v0.1``.
        trunk_weights: torchvision checkpoint of the trunk; None: the weights manager's torchvision file.
        trunk: a ready trunk of ``net`` (its weights loaded); None builds one from ``trunk_weights``.
    """

    def __init__(
        self,
        *,
        net: Literal["alex", "vgg", "squeeze"] = "alex",
        data_range: DataRange = 1.0,
        heads: str | Path | None = None,
        trunk_weights: str | Path | None = None,
        trunk: StagedTrunk | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.net = net
        self.heads, self.trunk_weights = heads, trunk_weights
        self.trunk = trunk if trunk is not None else StagedTrunk(net, trunk_weights)
        if tuple(self.trunk.channels) != CUTS[net][2]:
            raise InputError(f"lpips: the given trunk has stages {self.trunk.channels}, not those of net={net!r}")
        self.linear_heads = _heads(net, heads)

    function = staticmethod(lpips)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return lpips(img, ref, trunk=self.trunk, heads=self.linear_heads, data_range=self.data_range)
