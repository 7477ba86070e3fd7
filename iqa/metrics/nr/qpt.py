"""QPT-style quality-aware encoder (NR): frozen features of an encoder pre-trained with the
quality-aware contrastive objective, scored by a ridge head.

Paper: Zhao et al., "Quality-aware Pre-trained Models for Blind Image Quality Assessment", CVPR 2023.
No official code or weights were released, so this is an *approximation*: the degradation space,
the loss and the schedule are ours (batches :func:`iqa.training.pretrain_data.qpt_batch`, loss
:func:`iqa.training.contrastive.quality_aware_nce`, loop :mod:`iqa.training.pretrain`; documented
in docs/quality_pretraining.md), and the paper's downstream step (fine-tuning a BIQA head end to
end) is replaced by CONTRIQUE's linear protocol: two-scale pooled features
(:func:`iqa.models.contrique.two_scale_features`) and ridge.

Weights come from your own runs: ``iqa train qpt --config FILE`` writes the encoder (``weights=``
or ``--install`` into the store as ``qpt_encoder``), ``iqa fit-head qpt --dataset NAME --root DIR``
writes ``qpt_head_<NAME>``.

Two registered names, one per label direction (a spec is fixed): ``qpt`` for heads fitted to
higher-is-better labels (MOS; default head ``koniq10k``) and ``qpt_dmos`` for heads fitted to
lower-is-better labels (DMOS; ``head=`` is required). A head of the other direction is refused
with the name to use.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.contrique import ContriqueModel, two_scale_features
from iqa.models.quality_heads import RidgeHead, load_parts
from iqa.registry import MetricSpec, OfflineBuild, register_metric

HOW_TO = ("QPT has no released weights: pre-train an encoder with `iqa train qpt --config FILE --install` and fit a head "
          "with `iqa fit-head qpt --dataset NAME --root DIR` (see docs/quality_pretraining.md).")  # fmt: skip


def variant_for(head: RidgeHead) -> str:
    """The registered name that scores ``head`` (by its recorded direction)."""
    return "qpt_dmos" if head.higher_is_better is False else "qpt"


def qpt(img: torch.Tensor, *, model: ContriqueModel, head: RidgeHead, data_range: float = 1.0) -> torch.Tensor:
    """QPT-style quality per image: the two-scale features of ``model`` through a ridge ``head``.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 64x64.
        model: the encoder (weights loaded).
        head: the ridge head fitted on that encoder's features.
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).

    Returns:
        Tensor (N,) in the head's label scale and direction.
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=64)
    return head(two_scale_features(model, img / data_range)).to(img.dtype)


# No released checkpoint offline: a seeded random encoder and a ridge head fitted to noise levels.
_OFFLINE = OfflineBuild(stand_ins=(("model", "contrique_encoder"), ("head", "quality_head_on_noise")))


def _spec(name: str, higher_is_better: bool, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=higher_is_better,
        value_range=(float("-inf"), float("inf")),
        differentiable=False,
        color="rgb",
        paper="Zhao et al., 'Quality-aware Pre-trained Models for Blind Image Quality Assessment' (QPT), CVPR 2023",
        reference_impl="none released: our QPT-style approximation (iqa.training.contrastive.quality_aware_nce, "
        "pretrain_data.qpt_batch) with CONTRIQUE's ridge protocol",
        tolerance="loss on hand-computed cases; no reference numbers exist to reproduce",
        min_size=64,
        summary=summary,
        offline=_OFFLINE,
    )


@register_metric(
    _spec("qpt", True, "QPT-style quality-aware contrastive encoder (self-trained) + ridge head on MOS; approximate")
)
class QPT(NRMetric):
    """Predicted quality per image, (N,), in the head's label scale.

    Args:
        head: ridge head (store name, .safetensors path or RidgeHead) fitted to labels of this metric's direction.
        weights: encoder .safetensors file; None: the store's ``qpt_encoder``.
        model: a ready encoder (a ContriqueModel); None loads ``weights``.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        head: str | Path | RidgeHead | None = "koniq10k",
        weights: str | Path | None = None,
        model: ContriqueModel | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        self.model, self.head = load_parts(self.spec.name, self.spec.higher_is_better, prefix="qpt", head=head,
                                           weights=weights, model=model, how_to=HOW_TO, variant_for=variant_for)  # fmt: skip

    @property
    def regressor(self) -> RidgeHead:
        """The ridge head (``head`` after loading)."""
        return self.head

    function = staticmethod(qpt)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return qpt(img, model=self.model, head=self.head, data_range=self.data_range)


@register_metric(_spec("qpt_dmos", False, "QPT-style encoder + a head of your own fitted to DMOS: lower is better"))
class QPTDMOS(QPT):
    """QPT-style features scored by a head of your own fitted to lower-is-better labels (``head=`` is required)."""

    def __init__(self, *, data_range: DataRange = 1.0, head: str | Path | RidgeHead | None = None,
                 weights: str | Path | None = None, model: ContriqueModel | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range, head=head, weights=weights, model=model)
