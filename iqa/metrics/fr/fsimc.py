"""FSIMc: the colour form of FSIM (``FeatureSIM.m``'s second output).

Paper and reference implementation as ``fsim``. FSIM's local similarity is multiplied by
real((S_I S_Q)^0.03) with S_I, S_Q the similarities of the YIQ chroma planes (T3 = T4 = 200),
taken on MATLAB's principal complex branch where S_I S_Q < 0. For grey input FSIMc = FSIM.
"""

from __future__ import annotations

from iqa.metrics.fr.fsim import FSIM
from iqa.registry import MetricSpec, register_metric


@register_metric(
    MetricSpec(
        name="fsimc",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="any",
        paper="Zhang, Zhang, Mou, Zhang, 'FSIM: A Feature Similarity Index for Image Quality Assessment', IEEE TIP 2011",
        reference_impl="authors' FeatureSIM.m (FSIMc output): FSIM times real((S_I S_Q)^0.03), T3=T4=200",
        tolerance="1e-10 vs a float64 NumPy transcription of FeatureSIM.m; piq uses |S_I S_Q|^0.03 (tested)",
        min_size=8,
        summary="FSIM with YIQ chroma similarity",
    )
)
class FSIMc(FSIM):
    """FSIMc per image pair, (N,); 1 for identical images."""

    chromatic = True
