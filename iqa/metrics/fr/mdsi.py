"""MDSI: mean deviation similarity index.

Paper: Ziaei Nafchi, Shahkolaei, Hedjam, Cheriet, "Mean Deviation Similarity Index: Efficient
and Reliable Full-Reference Image Quality Evaluator", IEEE Access 2016. Reference
implementation: the authors' ``MDSI.m``, followed exactly on the 0-255 scale:

- f = max(1, round(min(H, W) / 256)) with MATLAB's round (halves away from zero); each RGB
  channel is filtered with ``fspecial('average', f)`` by ``conv2(..., 'same')`` and sampled
  every f-th row and column;
- L = .2989 R + .5870 G + .1140 B; the fusion F = (L1 + L2) / 2; opponent channels
  H = .30 R + .04 G - .35 B, M = .34 R - .60 G + .17 B;
- Prewitt magnitudes (``conv2 'same'``) of L1, L2, F; GS = GS12 + GS2F - GS1F with C1 = 140
  (reference vs distorted) and C2 = 55 (either vs the fusion); chromaticity similarity
  CS = (2 (H1 H2 + M1 M2) + C3) / (H1^2 + H2^2 + M1^2 + M2^2 + C3), C3 = 550;
- ``combination="sum"``: GCS = 0.6 GS + 0.4 CS; ``"mult"``: GCS = GS^0.2 CS^0.1;
- deviation pooling ``mad((GCS.^0.5).^0.5)^0.25``: MATLAB takes the powers of negative GCS on
  the principal complex branch and ``mad`` is the mean absolute deviation of those complex
  numbers, both reproduced here with complex tensors.

Lower is better; 0 for identical images (where, as for any 0^(1/4), the gradient is undefined).
Grey input is treated as R = G = B. Differences to piq ``mdsi``: Python's ``round`` (halves to
even) picks f = 2 where MATLAB picks 3 for a 640-pixel side (and similarly at other .5 ratios).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.gradients import prewitt_magnitude, similarity
from iqa.transforms.matlab import RGB2GRAY, conv2_downsample, downsample_factor

C1, C2, C3 = 140.0, 55.0, 550.0
ALPHA = 0.6  # "sum"
GAMMA, BETA = 0.2, 0.1  # "mult"
MIN_SIZE = 3
Combination = Literal["sum", "mult"]
LHM = (RGB2GRAY["rounded"], (0.30, 0.04, -0.35), (0.34, -0.60, 0.17))


def gcs_polar(img: torch.Tensor, ref: torch.Tensor, combination: Combination) -> tuple[torch.Tensor, torch.Tensor]:
    """Modulus and argument of the gradient-chromaticity similarity (argument pi where MATLAB's powers go complex)."""
    m = torch.tensor(LHM, dtype=img.dtype, device=img.device).view(3, 3, 1, 1)
    lhm_r, lhm_d = F.conv2d(ref, m), F.conv2d(img, m)
    l1, l2 = lhm_r[:, :1], lhm_d[:, :1]
    g_r, g_d, g_f = prewitt_magnitude(torch.cat([l1, l2, (l1 + l2) / 2])).chunk(3)
    gs = similarity(g_r, g_d, C1) + similarity(g_d, g_f, C2) - similarity(g_r, g_f, C2)
    h1, m1, h2, m2 = lhm_r[:, 1:2], lhm_r[:, 2:], lhm_d[:, 1:2], lhm_d[:, 2:]
    cs = (2 * (h1 * h2 + m1 * m2) + C3) / (h1 * h1 + h2 * h2 + m1 * m1 + m2 * m2 + C3)
    pi = math.pi
    if combination == "sum":
        gcs = ALPHA * gs + (1 - ALPHA) * cs
        return gcs.abs(), (gcs < 0).to(gcs.dtype) * pi
    modulus = gs.abs() ** GAMMA * cs.abs() ** BETA
    return modulus, ((gs < 0).to(gs.dtype) * GAMMA + (cs < 0).to(cs.dtype) * BETA) * pi


def deviation_pooling(modulus: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """``mad((GCS.^0.5).^0.5)^0.25`` per image; the angle is below pi, so the two square roots quarter it."""
    z = torch.polar(modulus.flatten(1) ** 0.25, angle.flatten(1) / 4)
    dev = (z - z.mean(dim=1, keepdim=True)).abs().mean(dim=1)
    return dev**0.25


def mdsi(
    img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, combination: Combination = "sum"
) -> torch.Tensor:
    """MDSI as the authors' ``MDSI.m``; lower is better, 0 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey (R = G = B), float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 levels.
        combination: how gradient and chromaticity similarity combine: "sum" (0.6 GS + 0.4 CS) or "mult" (GS^0.2 CS^0.1).

    Returns:
        Tensor (N,).
    """
    data_range = check_data_range(data_range)
    if combination not in ("sum", "mult"):
        raise InputError(f"mdsi: combination must be 'sum' or 'mult', got {combination!r}")
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    x, y = img.to(dt), ref.to(dt)
    if x.shape[1] == 1:
        x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
    f = downsample_factor(*x.shape[-2:])
    scale = 255.0 / data_range
    # Downsampling and scaling are linear: scale the smaller image.
    x, y = conv2_downsample(x, f) * scale, conv2_downsample(y, f) * scale
    return deviation_pooling(*gcs_polar(x, y, combination))


@register_metric(
    MetricSpec(
        name="mdsi",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="rgb",
        paper="Ziaei Nafchi, Shahkolaei, Hedjam, Cheriet, 'Mean Deviation Similarity Index: Efficient and Reliable Full-Reference Image Quality Evaluator', IEEE Access 2016",
        reference_impl="authors' MDSI.m: round(min side/256) box downsampling, LHM opponent space, C1=140, C2=55, C3=550, complex deviation pooling",
        tolerance="1e-10 vs a float64 NumPy transcription of MDSI.m (complex powers as MATLAB's); 1e-8 relative vs piq.mdsi where its rounding agrees",
        min_size=MIN_SIZE,
        summary="gradient (with fusion) and chromaticity similarity, mean-deviation pooled",
    )
)
class MDSI(FRMetric):
    """MDSI per image pair, (N,); 0 for identical images (see :func:`mdsi`)."""

    function = staticmethod(mdsi)

    def __init__(self, *, data_range: DataRange = 1.0, combination: Combination = "sum") -> None:
        super().__init__(data_range=data_range)
        self.combination = combination

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return mdsi(img, ref, data_range=self.data_range, combination=self.combination)
