"""TOPIQ-IAA: image aesthetics (AVA) from top-down cross-scale attention, a 1-10 mean rating.

Paper: Chen et al., "TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality
Assessment", IEEE TIP 2024 (arXiv:2308.03060). Network: :mod:`iqa.models.topiq` (CFANet with
inter_dim 512, 8 heads and a 10-bin softmax head; the Swin-B trunk in :mod:`iqa.models.topiq_swin`).
Reference implementation: pyiqa's ``CFANet`` (``pyiqa/archs/topiq_arch.py``, chaofengc/IQA-PyTorch;
PolyForm-Noncommercial, used only as a test-time reference) with its ``topiq_iaa`` and
``topiq_iaa_res50`` settings.

Released weights (the authors', AVA, in the IQA-PyTorch releases
https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/), loaded unchanged:
``cfanet_iaa_ava_swin-393b41b4.pth`` (``topiq_iaa``, Swin-B trunk, pyiqa's default) and
``cfanet_iaa_ava_res50-3cd62bb3.pth`` (``topiq_iaa_res50``, ResNet-50 trunk).

Input path as released: ``topiq_iaa`` resizes every image to 384 x 384 (aspect ratio not kept; the Swin-B
trunk takes that size only), ``topiq_iaa_res50`` the shorter side to 384 (both antialiased bilinear, as
torchvision's ``resize``); then ImageNet mean/std. The score is the mean of the predicted distribution
over the ratings 1..10 (so it lies in [1, 10]).

Parity: the same seeded random state dict (released key layout) in this network and in pyiqa's, both
scoring the same image file through their own input path, agree to float32 rounding (ResNet-50: 1e-5
absolute, measured 0; Swin-B: 5e-5, measured <= 2e-6; tests/metrics/nr/test_topiq_iaa.py); the key
layout tests (tests/models/test_topiq.py) name every released key of both files.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.topiq import TopIQ, Variant, predict, topiq_for
from iqa.registry import MetricSpec, OfflineBuild, register_metric

MIN_SIZE = 8  # the shorter side is resized to 384 first; 8 keeps the aspect ratio sane


def topiq_iaa(img: torch.Tensor, *, model: TopIQ, data_range: float = 1.0) -> torch.Tensor:
    """TOPIQ aesthetic score per image, the mean rating on 1..10; higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 8x8.
        model: the aesthetics TOPIQ network (weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    if model.config.num_class != 10:
        raise InputError(f"topiq_iaa needs the aesthetics (10-bin) TOPIQ network, got the {model.variant} variant")
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=MIN_SIZE)
    return predict(model, img, None, data_range)


_PAPER = "Chen et al., 'TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality Assessment', IEEE TIP 2024"  # fmt: skip


def _spec(name: str, weights_id: str, tolerance: str, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(1.0, 10.0),
        differentiable=True,
        color="rgb",
        paper=_PAPER,
        reference_impl=f"pyiqa 0.1.16 CFANet, settings of its {name!r} (authors' weights {weights_id})",
        tolerance=tolerance,
        weights=(weights_id,),
        min_size=MIN_SIZE,
        offline=OfflineBuild(stand_ins=(("model", "topiq_small_on_noise"),)),
        summary=summary,
    )


@register_metric(
    _spec(
        "topiq_iaa",
        "cfanet_iaa_ava_swin",
        "5e-5 absolute vs pyiqa CFANet (same seeded random state dict, same image file; measured <= 2e-6, "
        "float32 through 24 Swin blocks, fused vs explicit attention softmax); no released weights offline",
        "TOPIQ aesthetics, AVA (Swin-B trunk, pyiqa's default; resized to 384x384; mean of the 10-bin rating "
        "distribution, 1-10)",
    )
)
class TopIQIAA(NRMetric):
    """TOPIQ aesthetic score per image, (N,), higher is better (1-10, AVA, Swin-B trunk: pyiqa's default).

    Args:
        weights: a checkpoint in the release's layout (e.g. fine-tuned), loaded as given; None: the release (verified).
        model: a ready aesthetics TOPIQ network of this variant (weights loaded); None loads the release.
    """

    variant: ClassVar[Variant] = "iaa_ava_swin"

    def __init__(
        self, *, data_range: DataRange = 1.0, weights: str | Path | None = None, model: TopIQ | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        self.model = topiq_for(self.spec.name, self.variant, weights, model).eval()

    function = staticmethod(topiq_iaa)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return topiq_iaa(img, model=self.model, data_range=self.data_range)


@register_metric(
    _spec(
        "topiq_iaa_res50",
        "cfanet_iaa_ava_res50",
        "1e-5 absolute vs pyiqa CFANet (same seeded random state dict, same image file; measured 0); no released weights offline",
        "TOPIQ aesthetics, AVA (ResNet-50 trunk; shorter side to 384; mean of the 10-bin rating distribution, 1-10)",
    )
)
class TopIQIAARes50(TopIQIAA):
    """TOPIQ aesthetic score per image, (N,), higher is better (1-10, AVA, ResNet-50 trunk)."""

    variant: ClassVar[Variant] = "iaa_ava_res50"
