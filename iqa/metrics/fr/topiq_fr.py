"""TOPIQ-FR: full-reference quality from top-down cross-scale attention over ResNet-50 features.

Paper: Chen et al., "TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality
Assessment", IEEE TIP 2024 (arXiv:2308.03060). Network: :mod:`iqa.models.topiq` (CFANet with the
reference branch: per scale, [dist, ref, |dist - ref|] weighted by a map computed from the difference).
Reference implementation: pyiqa's ``CFANet`` (``pyiqa/archs/topiq_arch.py``, chaofengc/IQA-PyTorch;
PolyForm-Noncommercial, used only as a test-time reference) with its ``topiq_fr`` and
``topiq_fr-pipal`` settings.

Released weights (the authors', in the IQA-PyTorch releases
https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/): ``cfanet_fr_kadid_res50-2c4cc61d.pth``
(``topiq_fr``, KADID-10k) and ``cfanet_fr_pipal_res50-69bbe5ba.pth`` (``topiq_fr_pipal``, PIPAL);
loaded unchanged.

Input path as released: both images at their own size, ImageNet mean/std, one ResNet-50 pass each
(here one pass over the pair stacked; BatchNorm runs in eval mode, so images stay independent).
Scores are the trained MOS scale (about [0, 1], higher is better) from a linear layer, so the
declared range is unbounded; identical images do not score a fixed value (the head sees the
reference's features too), which is why ``identity_value`` cannot be declared.

Parity: the same seeded random state dict (released key layout) in this network and in pyiqa's,
both scoring the same pair of image files through their own input path, agree to float32 rounding
(tests/metrics/fr/test_topiq_fr.py); the key layout test names every released key.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import ClassVar

import torch

from iqa.checks import check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric
from iqa.models.topiq import TopIQ, Variant, predict, topiq_for
from iqa.registry import MetricSpec, OfflineBuild, register_metric

MIN_SIZE = 32  # one cell of ResNet-50's stride-32 layer4 grid, the grid every scale is pooled to
_PAPER = "Chen et al., 'TOPIQ: A Top-down Approach from Semantics to Distortions for Image Quality Assessment', IEEE TIP 2024"
_TOLERANCE = "1e-5 absolute vs pyiqa CFANet (same seeded random state dict, same image files; measured 0); no released weights offline"  # fmt: skip


def topiq_fr(img: torch.Tensor, ref: torch.Tensor, *, model: TopIQ, data_range: float = 1.0) -> torch.Tensor:
    """TOPIQ full-reference score per image (the trained MOS scale, about [0, 1]); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 32x32.
        ref: their references, same shape.
        model: a full-reference TOPIQ network (weights loaded).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    if not model.config.use_ref:
        raise InputError(f"topiq_fr needs a full-reference TOPIQ network, got the {model.variant} variant")
    img, ref = check_pair(img, ref, data_range=data_range, channels=(3,), min_size=MIN_SIZE)
    return predict(model, img, ref, data_range)


def _spec(name: str, variant: str, data: str, weights_id: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="fr",
        higher_is_better=True,
        value_range=(-math.inf, math.inf),
        differentiable=True,
        color="rgb",
        paper=_PAPER,
        reference_impl=f"pyiqa 0.1.16 CFANet, settings of its {variant!r} (authors' weights {weights_id})",
        tolerance=_TOLERANCE,
        weights=(weights_id,),
        min_size=MIN_SIZE,
        identity_fixed=False,  # the head also reads the reference's own features: no fixed identity score
        offline=OfflineBuild(stand_ins=(("model", "topiq_small_on_noise"),)),
        summary=f"TOPIQ full-reference, {data} (ResNet-50, top-down cross-scale attention; MOS scale ~0-1)",
    )


@register_metric(_spec("topiq_fr", "topiq_fr", "trained on KADID-10k", "cfanet_fr_kadid_res50"))
class TopIQFR(FRMetric):
    """TOPIQ full-reference score per image, (N,), higher is better (KADID-10k model).

    Args:
        weights: a checkpoint in the release's layout (e.g. fine-tuned), loaded as given; None: the release (verified).
        model: a ready full-reference TOPIQ network of this variant (weights loaded); None loads the release.
    """

    variant: ClassVar[Variant] = "fr_kadid"

    def __init__(
        self, *, data_range: DataRange = 1.0, weights: str | Path | None = None, model: TopIQ | None = None
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        self.model = topiq_for(self.spec.name, self.variant, weights, model).eval()

    function = staticmethod(topiq_fr)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return topiq_fr(img, ref, model=self.model, data_range=self.data_range)


@register_metric(_spec("topiq_fr_pipal", "topiq_fr-pipal", "trained on PIPAL", "cfanet_fr_pipal_res50"))
class TopIQFRPIPAL(TopIQFR):
    """TOPIQ full-reference score per image, (N,), higher is better (PIPAL model)."""

    variant: ClassVar[Variant] = "fr_pipal"
