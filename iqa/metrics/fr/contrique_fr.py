"""CONTRIQUE-FR: |CONTRIQUE features(reference) - features(image)| + a per-dataset ridge head.

Paper: Madhusudana et al., "Image Quality Assessment using Contrastive Learning", IEEE TIP 2022
(the full-reference extension). Reference implementation: ``pavancm/CONTRIQUE`` ``demo_score_FR.py``:
4096 two-scale features of both images (the half copies both resized to the *reference's*
(W // 2, H // 2)), their element-wise absolute difference, then the released Ridge ``LIVE_FR.save``
or ``CSIQ_FR.save``. Both were fitted to DMOS: lower is better, in DMOS units.

Weights: as :mod:`iqa.metrics.nr.contrique` (``iqa weights convert contrique ... --regressors``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.checks import check_pair
from iqa.metrics._quality_heads import RidgeHead, attach
from iqa.metrics.base import FRMetric
from iqa.metrics.nr._contrique import ContriqueModel, fr_features
from iqa.metrics.nr.contrique import HOW_TO
from iqa.registry import MetricSpec, register_metric


@register_metric(
    MetricSpec(
        name="contrique_fr",
        kind="fr",
        higher_is_better=False,
        value_range=(float("-inf"), float("inf")),
        differentiable=False,
        color="rgb",
        paper="Madhusudana et al., 'Image Quality Assessment using Contrastive Learning' (CONTRIQUE-FR), IEEE TIP 2022",
        reference_impl="pavancm/CONTRIQUE demo_score_FR.py (|feature difference|, half copies at the reference's size)",
        tolerance="feature difference by hand on random weights (float32 tolerance); converted LIVE_FR-style head = sklearn's "
        "predict to 1e-8 (float64 input); the checkpoint is not offline",
        min_size=64,
        summary="CONTRIQUE feature difference + ridge head (live_fr default, csiq_fr), predicts DMOS",
        identity_is_head_intercept=True,  # identical images: zero difference, the head's intercept
    )
)
class ContriqueFR(FRMetric):
    """Predicted DMOS per image pair, (N,) (lower is better for the released heads)."""

    def __init__(
        self,
        *,
        data_range: float = 1.0,
        head: str | Path | RidgeHead = "live_fr",
        weights: str | Path | None = None,
        model: ContriqueModel | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        attach(self, "contrique", head, weights, model, HOW_TO)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        img, ref = check_pair(img, ref, data_range=self.data_range, channels=(3,), min_size=self.spec.min_size)
        feats = fr_features(self.net, img / self.data_range, ref / self.data_range)
        return self.regressor(feats.to(self.regressor.coef.device)).to(img.dtype)
