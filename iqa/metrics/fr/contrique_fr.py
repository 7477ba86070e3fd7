"""CONTRIQUE-FR: |CONTRIQUE features(reference) - features(image)| + a per-dataset ridge head.

Paper: Madhusudana et al., "Image Quality Assessment using Contrastive Learning", IEEE TIP 2022
(the full-reference extension). Reference implementation: ``pavancm/CONTRIQUE`` ``demo_score_FR.py``:
4096 two-scale features of both images (the half copies both resized to the *reference's*
(W // 2, H // 2)), their element-wise absolute difference, then the released Ridge ``LIVE_FR.save``
or ``CSIQ_FR.save``. Both were fitted to DMOS: lower is better, in DMOS units.

Weights: as the ``contrique`` metric (``iqa weights convert contrique ... --regressors``).

One registered name per released head and direction (a spec is fixed):

- ``contrique_fr``: LIVE IQA FR head (DMOS, lower is better);
- ``contrique_fr_csiq``: CSIQ FR head (DMOS 0-1, lower is better);
- ``contrique_fr_mos``: no default head: for heads of your own fitted to higher-is-better labels
  (e.g. ``iqa fit-head contrique_fr --dataset kadid10k``).

``head=`` takes a store name, a .safetensors path or a RidgeHead whose recorded direction is the
name's; DMOS-like heads of your own go to ``contrique_fr``, MOS-like ones to ``contrique_fr_mos``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_pair
from iqa.metrics.base import DataRange, FRMetric
from iqa.models.contrique import HOW_TO_GET, ContriqueModel, fr_features
from iqa.models.quality_heads import RidgeHead, load_parts
from iqa.registry import MetricSpec, OfflineBuild, register_metric

RELEASED = {"live_fr": "contrique_fr", "csiq_fr": "contrique_fr_csiq"}
FOR_OWN_HEADS = {True: "contrique_fr_mos", False: "contrique_fr"}


def variant_for(head: RidgeHead) -> str:
    """The registered name that scores ``head``: its release variant, else the one of its direction."""
    return RELEASED.get(head.name or "", FOR_OWN_HEADS[head.higher_is_better is not False])


def contrique_fr(
    img: torch.Tensor, ref: torch.Tensor, *, model: ContriqueModel, head: RidgeHead, data_range: float = 1.0
) -> torch.Tensor:
    """CONTRIQUE-FR quality per pair: the feature difference of ``model`` through a ridge ``head``.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 64x64.
        ref: reference images, same shape.
        model: the encoder (weights loaded).
        head: the ridge head fitted on that encoder's feature differences.
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).

    Returns:
        Tensor (N,) in the head's label scale and direction.
    """
    img, ref = check_pair(img, ref, data_range=data_range, channels=(3,), min_size=64)
    return head(fr_features(model, img / data_range, ref / data_range)).to(img.dtype)


# No released checkpoint offline: a seeded random encoder and a ridge head fitted to noise levels.
_OFFLINE = OfflineBuild(stand_ins=(("model", "contrique_encoder"), ("head", "quality_head_on_noise")))


def _spec(name: str, higher_is_better: bool, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="fr",
        higher_is_better=higher_is_better,
        value_range=(float("-inf"), float("inf")),
        differentiable=False,
        color="rgb",
        paper="Madhusudana et al., 'Image Quality Assessment using Contrastive Learning' (CONTRIQUE-FR), IEEE TIP 2022",
        reference_impl="pavancm/CONTRIQUE demo_score_FR.py (|feature difference|, half copies at the reference's size)",
        tolerance="feature difference by hand on random weights (float32 tolerance); converted LIVE_FR-style head = sklearn's "
        "predict to 1e-8 (float64 input); the checkpoint is not offline",
        min_size=64,
        summary=summary,
        offline=_OFFLINE,
        identity_is_head_intercept=True,  # identical images: zero difference, the head's intercept
    )


@register_metric(
    _spec("contrique_fr", False, "CONTRIQUE feature difference + ridge head: LIVE IQA DMOS (lower is better)")
)
class ContriqueFR(FRMetric):
    """Predicted DMOS per image pair, (N,), in the head's label scale.

    Args:
        head: ridge head (store name, .safetensors path or RidgeHead) fitted to labels of this metric's direction.
        weights: encoder .safetensors file; None: the store's converted ``contrique_encoder``.
        model: a ready encoder (a ContriqueModel); None loads ``weights``.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        head: str | Path | RidgeHead | None = "live_fr",
        weights: str | Path | None = None,
        model: ContriqueModel | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        self.model, self.head = load_parts(self.spec.name, self.spec.higher_is_better, prefix="contrique", head=head,
                                           weights=weights, model=model, how_to=HOW_TO_GET, variant_for=variant_for)  # fmt: skip

    @property
    def regressor(self) -> RidgeHead:
        """The ridge head (``head`` after loading)."""
        return self.head

    function = staticmethod(contrique_fr)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return contrique_fr(img, ref, model=self.model, head=self.head, data_range=self.data_range)


@register_metric(_spec("contrique_fr_csiq", False, "CONTRIQUE-FR with the CSIQ head: DMOS (0-1), lower is better"))
class ContriqueFRCSIQ(ContriqueFR):
    """CONTRIQUE-FR scored by the released CSIQ head (DMOS 0-1, lower is better)."""

    def __init__(self, *, data_range: DataRange = 1.0, head: str | Path | RidgeHead | None = "csiq_fr",
                 weights: str | Path | None = None, model: ContriqueModel | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range, head=head, weights=weights, model=model)


@register_metric(
    _spec("contrique_fr_mos", True, "CONTRIQUE-FR with a head of your own fitted to MOS: higher is better")
)
class ContriqueFRMOS(ContriqueFR):
    """CONTRIQUE-FR scored by a head of your own fitted to higher-is-better labels (``head=`` is required)."""

    def __init__(self, *, data_range: DataRange = 1.0, head: str | Path | RidgeHead | None = None,
                 weights: str | Path | None = None, model: ContriqueModel | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range, head=head, weights=weights, model=model)
