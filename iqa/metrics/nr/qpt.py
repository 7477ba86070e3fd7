"""QPT-style quality-aware encoder (NR): frozen features of an encoder pre-trained with the
quality-aware contrastive objective, scored by a ridge head.

Paper: Zhao et al., "Quality-aware Pre-trained Models for Blind Image Quality Assessment", CVPR 2023.
No official code or weights were released, so this is an *approximation*: the degradation space,
the loss and the schedule are ours (:mod:`iqa.training.qpt`, documented in docs/quality_pretraining.md),
and the paper's downstream step (fine-tuning a BIQA head end to end) is replaced by CONTRIQUE's linear
protocol: two-scale pooled features (:func:`iqa.metrics.nr._contrique.two_scale_features`) and ridge.

Weights come from your own runs: ``iqa train qpt --config FILE`` writes the encoder (``weights=``
or ``--install`` into the store as ``qpt_encoder``), ``iqa fit-head qpt --dataset NAME --root DIR``
writes ``qpt_head_<NAME>``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.metrics._quality_heads import RidgeHead, attach
from iqa.metrics.base import NRMetric
from iqa.metrics.nr._contrique import ContriqueModel, two_scale_features
from iqa.registry import MetricSpec, register_metric

HOW_TO = ("QPT has no released weights: pre-train an encoder with `iqa train qpt --config FILE --install` and fit a head "
          "with `iqa fit-head qpt --dataset NAME --root DIR` (see docs/quality_pretraining.md).")  # fmt: skip


@register_metric(
    MetricSpec(
        name="qpt",
        kind="nr",
        higher_is_better=True,
        value_range=(float("-inf"), float("inf")),
        differentiable=False,
        color="rgb",
        paper="Zhao et al., 'Quality-aware Pre-trained Models for Blind Image Quality Assessment' (QPT), CVPR 2023",
        reference_impl="none released: our QPT-style approximation (iqa.training.qpt) with CONTRIQUE's ridge protocol",
        tolerance="loss on hand-computed cases; no reference numbers exist to reproduce",
        min_size=64,
        summary="QPT-style quality-aware contrastive encoder (self-trained) + ridge head; approximate, see docs",
    )
)
class QPT(NRMetric):
    """Predicted quality per image, (N,), in the head's label scale."""

    def __init__(
        self,
        *,
        data_range: float = 1.0,
        head: str | Path | RidgeHead = "koniq10k",
        weights: str | Path | None = None,
        model: ContriqueModel | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        attach(self, "qpt", head, weights, model, HOW_TO)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        img = check_image(img, "img", data_range=self.data_range, channels=(3,), min_size=self.spec.min_size)
        feats = two_scale_features(self.net, img / self.data_range)
        return self.regressor(feats.to(self.regressor.coef.device)).to(img.dtype)
