"""TOPIQ-NR: no-reference quality from top-down cross-scale attention over ResNet-50 features.

Paper: Chen et al., "TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality
Assessment", IEEE TIP 2024 (arXiv:2308.03060). Network: :mod:`iqa.models.topiq` (CFANet).
Reference implementation: pyiqa's ``CFANet`` (``pyiqa/archs/topiq_arch.py``, chaofengc/IQA-PyTorch;
PolyForm-Noncommercial, used only as a test-time reference) with its ``topiq_nr``, ``topiq_nr-flive``
and ``topiq_nr-spaq`` settings.

Released weights (the authors', in the IQA-PyTorch releases
https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/): ``cfanet_nr_koniq_res50-9a73138b.pth``
(``topiq_nr``, KonIQ-10k), ``cfanet_nr_flive_res50-ded1c74e.pth`` (``topiq_nr_flive``, FLIVE /
PaQ-2-PiQ), ``cfanet_nr_spaq_res50-a7f799ac.pth`` (``topiq_nr_spaq``, SPAQ); loaded unchanged.

Input path as released: KonIQ and SPAQ score the image at its own size; FLIVE first resizes the
shorter side to 384 (antialiased bilinear, as torchvision's ``resize(x, 384)``); then ImageNet
mean/std. The released models regress MOS rescaled to [0, 1] (higher is better); the output is a
linear layer, so scores can leave [0, 1] slightly and the declared range is unbounded.

Parity: the same seeded random state dict (released key layout) in this network and in pyiqa's,
both scoring the same image file through their own input path, agree to float32 rounding
(tests/metrics/nr/test_topiq_nr.py); the key layout test names every released key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.topiq import TopIQ, Variant, predict, topiq_for
from iqa.registry import MetricSpec, OfflineBuild, register_metric

MIN_SIZE = 32  # one cell of ResNet-50's stride-32 layer4 grid, the grid every scale is pooled to
_PAPER = "Chen et al., 'TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality Assessment', IEEE TIP 2024"
_TOLERANCE = "1e-5 absolute vs pyiqa CFANet (same seeded random state dict, same image file; measured 0); no released weights offline"  # fmt: skip


def topiq_nr(img: torch.Tensor, *, model: TopIQ, data_range: float = 1.0) -> torch.Tensor:
    """TOPIQ no-reference score per image (the trained MOS scale, about [0, 1]); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 32x32.
        model: a no-reference TOPIQ network (weights loaded); its variant decides the input resize.
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    if model.config.use_ref:
        raise InputError(f"topiq_nr needs a no-reference TOPIQ network, got the {model.variant} variant")
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=MIN_SIZE)
    return predict(model, img, None, data_range)


def _spec(name: str, variant: str, data: str, weights_id: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(-math.inf, math.inf),
        differentiable=True,
        color="rgb",
        paper=_PAPER,
        reference_impl=f"pyiqa 0.1.16 CFANet, settings of its {variant!r} (authors' weights {weights_id})",
        tolerance=_TOLERANCE,
        weights=(weights_id,),
        min_size=MIN_SIZE,
        offline=OfflineBuild(stand_ins=(("model", "topiq_small_on_noise"),)),
        summary=f"TOPIQ no-reference, {data} (ResNet-50, top-down cross-scale attention; MOS scale ~0-1)",
    )


@register_metric(_spec("topiq_nr", "topiq_nr", "trained on KonIQ-10k", "cfanet_nr_koniq_res50"))
class TopIQNR(NRMetric):
    """TOPIQ no-reference score per image, (N,), higher is better (KonIQ-10k model).

    Args:
        weights: a checkpoint in the release's layout (e.g. fine-tuned), loaded as given; None: the release (verified).
        model: a ready no-reference TOPIQ network of this variant (weights loaded); None loads the release.
    """

    variant: ClassVar[Variant] = "nr_koniq"

    def __init__(
        self, *, data_range: DataRange = 1.0, weights: str | Path | None = None, model: TopIQ | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        self.model = topiq_for(self.spec.name, self.variant, weights, model).eval()

    function = staticmethod(topiq_nr)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return topiq_nr(img, model=self.model, data_range=self.data_range)


@register_metric(_spec("topiq_nr_flive", "topiq_nr-flive", "trained on FLIVE (shorter side resized to 384)", "cfanet_nr_flive_res50"))  # fmt: skip
class TopIQNRFLIVE(TopIQNR):
    """TOPIQ no-reference score per image, (N,), higher is better (FLIVE model; shorter side resized to 384)."""

    variant: ClassVar[Variant] = "nr_flive"


@register_metric(_spec("topiq_nr_spaq", "topiq_nr-spaq", "trained on SPAQ", "cfanet_nr_spaq_res50"))
class TopIQNRSPAQ(TopIQNR):
    """TOPIQ no-reference score per image, (N,), higher is better (SPAQ smartphone-photo model)."""

    variant: ClassVar[Variant] = "nr_spaq"
