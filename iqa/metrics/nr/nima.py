"""NIMA: Neural Image Assessment, the released trunks and heads of IQA-PyTorch.

Paper: Talebi & Milanfar, "NIMA: Neural Image Assessment", IEEE TIP 27(8), 2018. Released weights:
the widely used converted release of IQA-PyTorch (pyiqa), https://github.com/chaofengc/IQA-PyTorch
(``v0.1-weights`` release and its Hugging Face mirror): ``nima`` (pyiqa's default) =
``NIMA_InceptionV2_ava-b0c77c00.pth`` (Inception-ResNet-v2, AVA), ``nima_vgg16_ava`` =
``NIMA_VGG16_ava-dc4e8265.pth``, ``nima_koniq`` = ``NIMA_koniq-250367ae.pth`` and ``nima_spaq`` =
``NIMA-spaq-46a7fcb7.pth`` (Inception-ResNet-v2 with one output). Reference implementation:
pyiqa's ``NIMA`` (``pyiqa/archs/nima_arch.py``, after yunxiaoshi/Neural-IMage-Assessment).

Scores: the AVA variants give the mean of the predicted 10-bin rating distribution (1-10, higher
is better); the KonIQ and SPAQ variants give the single linear output, about 0-1 as pyiqa trained
them. Input path as released (see :mod:`iqa.models.nima`): shorter side resized to the trunk's input
size, centre crop, the trunk's normalisation; deterministic, image by image.

Parity: ours and pyiqa's network loaded with the same seeded random state dict in the released key
layout, scored end to end from the same PNG through each side's own loading and preprocessing,
agree to 1e-5 (tests/metrics/nr/test_nima.py); the key layout test names every released key.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.models.fusion import prepare_inference
from iqa.models.nima import NIMA, RELEASES, load_nima
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def nima(img: torch.Tensor, *, model: NIMA, data_range: float = 1.0) -> torch.Tensor:
    """NIMA score per image, (N,): the mean rating (1-10) or the one-output release's value.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 8x8.
        model: the NIMA network (weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=8)
    net_dtype = model.linear.weight.dtype
    # divide before the cast, so [0, 255] and [0, 1] inputs give the same pixels
    return model.score((img / data_range).to(net_dtype)).to(compute_dtype(img))


_PAPER = "Talebi & Milanfar, 'NIMA: Neural Image Assessment', IEEE TIP 2018"
_REFERENCE = "pyiqa 0.1.16 NIMA (pyiqa/archs/nima_arch.py; timm trunk, resize + centre crop, trunk normalisation)"
_TOLERANCE = ("1e-5 absolute vs pyiqa's NIMA with the same random state dict (float32, same timm trunk; "
              "measured 5e-7); the released weights are not available offline")  # fmt: skip


def _spec(name: str, release: str, summary: str) -> MetricSpec:
    ava = RELEASES[release].outputs == 10
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(1.0, 10.0) if ava else (float("-inf"), float("inf")),
        differentiable=True,
        color="rgb",
        paper=_PAPER,
        reference_impl=_REFERENCE,
        tolerance=_TOLERANCE,
        weights=(RELEASES[release].weights_id,),
        min_size=8,
        offline=OfflineBuild(stand_ins=(("model", "nima_small_trunk"),)),
        summary=summary,
    )


@register_metric(_spec("nima", "ava", "NIMA Inception-ResNet-v2 on AVA: mean of the 10-bin rating distribution, 1-10"))
class NIMAMetric(NRMetric):
    """NIMA score per image, (N,), higher is better.

    Args:
        weights: a checkpoint in the release's layout ({"params": state_dict}); None: the variant's released file.
        model: a ready NIMA with the variant's number of outputs (any timm trunk); None loads ``weights``.
    """

    release = "ava"

    def __init__(
        self, *, data_range: DataRange = 1.0, weights: str | Path | None = None, model: NIMA | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        outputs = RELEASES[self.release].outputs
        if model is None:
            model = load_nima(self.release, weights)
            prepare_inference(model)  # ours: BatchNorm folded, channels-last (iqa.models.fusion)
        elif model.outputs != outputs:  # the number of outputs decides the scale of the score
            raise InputError(f"{self.spec.name}: the given NIMA has {model.outputs} output(s); this variant "
                             f"reads {outputs}")  # fmt: skip
        self.model = model.eval()

    function = staticmethod(nima)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return nima(img, model=self.model, data_range=self.data_range)


@register_metric(
    _spec("nima_vgg16_ava", "vgg16_ava", "NIMA VGG16 on AVA: mean of the 10-bin rating distribution, 1-10")
)
class NIMAVGG16AVA(NIMAMetric):
    """NIMA with the released VGG16 AVA weights (mean rating, 1-10)."""

    release = "vgg16_ava"


@register_metric(_spec("nima_koniq", "koniq", "NIMA Inception-ResNet-v2 trained on KonIQ-10k: one output, about 0-1"))
class NIMAKonIQ(NIMAMetric):
    """NIMA with pyiqa's KonIQ-10k weights (technical quality, about 0-1)."""

    release = "koniq"


@register_metric(_spec("nima_spaq", "spaq", "NIMA Inception-ResNet-v2 trained on SPAQ: one output, about 0-1"))
class NIMASPAQ(NIMAMetric):
    """NIMA with pyiqa's SPAQ weights (technical quality, about 0-1)."""

    release = "spaq"
