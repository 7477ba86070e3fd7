"""CONTRIQUE (NR): frozen contrastively trained ResNet-50 features + a per-dataset ridge head.

Paper: Madhusudana, Birkbeck, Wang, Adsumilli, Bovik, "Image Quality Assessment using Contrastive
Learning", IEEE TIP 2022. Reference implementation: ``pavancm/CONTRIQUE`` ``demo_score.py``
(features: :func:`iqa.models.contrique.two_scale_features`, i.e. the 8-bit image and its PIL
bicubic half, no normalisation, 4096 values; score: the released sklearn Ridge of the chosen dataset).

Weights: ``CONTRIQUE_checkpoint25.tar`` and ``models/*.save`` from the release, converted once with
``iqa weights convert contrique CHECKPOINT --regressors MODELS_DIR`` (nothing is unpickled at run
time). Scores are in the head's native label scale. Images are processed at full resolution, one at a time.

One registered name per released head, because the heads differ in direction and scale:

- ``contrique``: KonIQ-10k head (MOS 0-100, higher is better);
- ``contrique_clive``: LIVE Challenge head (MOS 0-100, higher is better);
- ``contrique_live``: LIVE IQA head (DMOS, lower is better);
- ``contrique_csiq``: CSIQ head (DMOS 0-1, lower is better);
- ``contrique_dmos``: no default head: for heads of your own fitted to lower-is-better labels.

Every name takes ``head=`` (a store name from ``iqa fit-head contrique``, a .safetensors path or a
:class:`~iqa.models.quality_heads.RidgeHead`) as long as the head's recorded direction is the
name's: MOS-like heads go to ``contrique``, DMOS-like ones to ``contrique_dmos``; any other head is
refused with the name to use.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.contrique import HOW_TO_GET, ContriqueModel, two_scale_features
from iqa.models.quality_heads import RidgeHead, load_parts
from iqa.registry import MetricSpec, OfflineBuild, register_metric

RELEASED = {"koniq": "contrique", "clive": "contrique_clive", "live": "contrique_live", "csiq": "contrique_csiq"}
FOR_OWN_HEADS = {True: "contrique", False: "contrique_dmos"}


def variant_for(head: RidgeHead) -> str:
    """The registered name that scores ``head``: its release variant, else the one of its direction."""
    return RELEASED.get(head.name or "", FOR_OWN_HEADS[head.higher_is_better is not False])


def contrique(img: torch.Tensor, *, model: ContriqueModel, head: RidgeHead, data_range: float = 1.0) -> torch.Tensor:
    """CONTRIQUE quality per image: the two-scale features of ``model`` through a ridge ``head``.

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
        paper="Madhusudana et al., 'Image Quality Assessment using Contrastive Learning' (CONTRIQUE), IEEE TIP 2022",
        reference_impl="pavancm/CONTRIQUE demo_score.py (PIL bicubic half scale, no normalisation, sklearn Ridge)",
        tolerance="conversion round trip on random weights in the release layout: sklearn's predict to 1e-8 (float64 "
        "input); features by hand; the released checkpoint is not offline",
        min_size=64,
        summary=summary,
        offline=_OFFLINE,
    )


@register_metric(_spec("contrique", True, "contrastive ResNet-50 quality features + ridge head: KonIQ-10k MOS (0-100)"))
class Contrique(NRMetric):
    """Predicted quality per image, (N,), in the head's label scale.

    Args:
        head: ridge head (store name, .safetensors path or RidgeHead) fitted to labels of this metric's direction.
        weights: encoder .safetensors file; None: the store's converted ``contrique_encoder``.
        model: a ready encoder (a ContriqueModel); None loads ``weights``.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        head: str | Path | RidgeHead | None = "koniq",
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

    function = staticmethod(contrique)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return contrique(img, model=self.model, head=self.head, data_range=self.data_range)


@register_metric(_spec("contrique_clive", True, "CONTRIQUE with the LIVE Challenge head: MOS (0-100)"))
class ContriqueCLIVE(Contrique):
    """CONTRIQUE scored by the released LIVE Challenge head (MOS, higher is better)."""

    def __init__(self, *, data_range: DataRange = 1.0, head: str | Path | RidgeHead | None = "clive",
                 weights: str | Path | None = None, model: ContriqueModel | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range, head=head, weights=weights, model=model)


@register_metric(_spec("contrique_live", False, "CONTRIQUE with the LIVE IQA head: DMOS, lower is better"))
class ContriqueLIVE(Contrique):
    """CONTRIQUE scored by the released LIVE IQA head (DMOS, lower is better)."""

    def __init__(self, *, data_range: DataRange = 1.0, head: str | Path | RidgeHead | None = "live",
                 weights: str | Path | None = None, model: ContriqueModel | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range, head=head, weights=weights, model=model)


@register_metric(_spec("contrique_csiq", False, "CONTRIQUE with the CSIQ head: DMOS (0-1), lower is better"))
class ContriqueCSIQ(Contrique):
    """CONTRIQUE scored by the released CSIQ head (DMOS 0-1, lower is better)."""

    def __init__(self, *, data_range: DataRange = 1.0, head: str | Path | RidgeHead | None = "csiq",
                 weights: str | Path | None = None, model: ContriqueModel | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range, head=head, weights=weights, model=model)


@register_metric(_spec("contrique_dmos", False, "CONTRIQUE with a head of your own fitted to DMOS: lower is better"))
class ContriqueDMOS(Contrique):
    """CONTRIQUE scored by a head of your own fitted to lower-is-better labels (``head=`` is required)."""

    def __init__(self, *, data_range: DataRange = 1.0, head: str | Path | RidgeHead | None = None,
                 weights: str | Path | None = None, model: ContriqueModel | None = None) -> None:  # fmt: skip
        super().__init__(data_range=data_range, head=head, weights=weights, model=model)
