"""CONTRIQUE (NR): frozen contrastively trained ResNet-50 features + a per-dataset ridge head.

Paper: Madhusudana, Birkbeck, Wang, Adsumilli, Bovik, "Image Quality Assessment using Contrastive
Learning", IEEE TIP 2022. Reference implementation: ``pavancm/CONTRIQUE`` ``demo_score.py``
(features: :func:`iqa.metrics.nr._contrique.two_scale_features`, i.e. the 8-bit image and its PIL
bicubic half, no normalisation, 4096 values; score: the released sklearn Ridge of the chosen dataset).

Weights: ``CONTRIQUE_checkpoint25.tar`` and ``models/*.save`` from the release, converted once with
``iqa weights convert contrique CHECKPOINT --regressors MODELS_DIR`` (nothing is unpickled at run
time). ``head`` picks the dataset: koniq, clive (MOS, higher is better) or live, csiq (DMOS, lower is
better: the instance's ``spec.higher_is_better`` says so), or a head from ``iqa fit-head contrique``.
Scores are in the head's native label scale. Images are processed at full resolution, one at a time.
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.metrics._quality_heads import RidgeHead, attach
from iqa.metrics.base import NRMetric
from iqa.metrics.nr._contrique import ContriqueModel, two_scale_features
from iqa.registry import MetricSpec, register_metric

HOW_TO = ("Download CONTRIQUE_checkpoint25.tar (link in the README of github.com/pavancm/CONTRIQUE) and the repository's "
          "models/*.save, then run `iqa weights convert contrique CONTRIQUE_checkpoint25.tar --regressors models/`; "
          "or train an encoder with `iqa train contrique` and fit a head with `iqa fit-head contrique`.")  # fmt: skip


@register_metric(
    MetricSpec(
        name="contrique",
        kind="nr",
        higher_is_better=True,
        value_range=(float("-inf"), float("inf")),
        differentiable=False,
        color="rgb",
        paper="Madhusudana et al., 'Image Quality Assessment using Contrastive Learning' (CONTRIQUE), IEEE TIP 2022",
        reference_impl="pavancm/CONTRIQUE demo_score.py (PIL bicubic half scale, no normalisation, sklearn Ridge)",
        tolerance="conversion round trip on random weights in the release layout: sklearn's predict to 1e-8 (float64 "
        "input); features by hand; the released checkpoint is not offline",
        min_size=64,
        summary="contrastive ResNet-50 quality features + per-dataset ridge head (koniq default; live/csiq are DMOS)",
    )
)
class Contrique(NRMetric):
    """Predicted quality per image, (N,), in the head's label scale."""

    def __init__(
        self,
        *,
        data_range: float = 1.0,
        head: str | Path | RidgeHead = "koniq",
        weights: str | Path | None = None,
        model: ContriqueModel | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        attach(self, "contrique", head, weights, model, HOW_TO)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        img = check_image(img, "img", data_range=self.data_range, channels=(3,), min_size=self.spec.min_size)
        feats = two_scale_features(self.net, img / self.data_range)
        return self.regressor(feats.to(self.regressor.coef.device)).to(img.dtype)
