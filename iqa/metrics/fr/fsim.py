"""FSIM and FSIMc: feature similarity index, luminance only (``fsim``) and with chroma (``fsimc``).

Paper: Zhang, Zhang, Mou, Zhang, "FSIM: A Feature Similarity Index for Image Quality
Assessment", IEEE TIP 2011. Reference implementation: the authors' ``FeatureSIM.m`` (with its
embedded ``phasecong2`` and ``lowpassfilter``), followed exactly on the 0-255 scale:

- Y = .299 R + .587 G + .114 B (I = .596/-.274/-.322, Q = .211/-.523/.312 for FSIMc);
- f = max(1, round(min(H, W) / 256)) with MATLAB's round; ``conv2(., fspecial('average', f),
  'same')`` and every f-th sample;
- phase congruency PC (:mod:`iqa.transforms.phase_congruency`) and Scharr gradient magnitudes
  ([3 0 -3; 10 0 -10; 3 0 -3] / 16, zero padding);
- S = (2 PC1 PC2 + T1) / (PC1^2 + PC2^2 + T1) * (2 G1 G2 + T2) / (G1^2 + G2^2 + T2), T1 = 0.85,
  T2 = 160; FSIM = sum(S PCm) / sum(PCm), PCm = max(PC1, PC2).

FSIMc (``FeatureSIM.m``'s second output) multiplies the local similarity by real((S_I S_Q)^0.03)
with S_I, S_Q the similarities of the YIQ chroma planes (T3 = T4 = 200), taken on MATLAB's
principal complex branch where S_I S_Q < 0. For grey input FSIMc = FSIM.

Higher is better, 1 for identical images. Differentiable (FFT filtering; the noise threshold's
median passes gradients to the median element). Differences to piq ``fsim``: piq pools with
``avg_pool2d`` (drops the last odd row/column instead of MATLAB's zero-padded block), takes the
lower middle value as the median, uses Python's round and, for FSIMc, |S_I S_Q|^0.03 instead of
MATLAB's real((S_I S_Q)^0.03) (tested).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.metrics.base import FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.gradients import scharr_magnitude, similarity
from iqa.transforms.matlab import conv2_downsample, downsample_factor
from iqa.transforms.phase_congruency import phase_congruency

T1, T2, T3, T4 = 0.85, 160.0, 200.0, 200.0
LAMBDA = 0.03
YIQ = ((0.299, 0.587, 0.114), (0.596, -0.274, -0.322), (0.211, -0.523, 0.312))  # FeatureSIM.m's rows
MIN_SIZE = 8


def _fsim(img: torch.Tensor, ref: torch.Tensor, data_range: float, chromatic: bool) -> torch.Tensor:
    """FSIM (or FSIMc) per pair of checked inputs, computed in their dtype."""
    f = downsample_factor(*img.shape[-2:])
    scale = 255.0 / data_range
    x, y = conv2_downsample(img, f), conv2_downsample(ref, f)  # linear: before the colour transform
    if x.shape[1] == 3:
        keep = 3 if chromatic else 1
        m = torch.tensor(YIQ[:keep], dtype=x.dtype, device=x.device).view(keep, 3, 1, 1) * scale
        x, y = F.conv2d(x, m), F.conv2d(y, m)
    else:
        x, y = x * scale, y * scale
    pc_r, pc_d = phase_congruency(torch.cat([y[:, :1], x[:, :1]])).chunk(2)
    g_r, g_d = scharr_magnitude(torch.cat([y[:, :1], x[:, :1]])).chunk(2)
    pc_m = torch.maximum(pc_r, pc_d)
    s = similarity(pc_r, pc_d, T1) * similarity(g_r, g_d, T2) * pc_m
    if chromatic and x.shape[1] == 3:
        p = similarity(y[:, 1:2], x[:, 1:2], T3) * similarity(y[:, 2:3], x[:, 2:3], T4)
        # real(p^lambda) on MATLAB's principal branch: |p|^lambda cos(pi lambda) where p < 0.
        branch = torch.ones_like(p).masked_fill(p < 0, math.cos(math.pi * LAMBDA))
        s = s * p.abs() ** LAMBDA * branch
    return s.sum((1, 2, 3)) / pc_m.sum((1, 2, 3))


def fsim(img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """FSIM as ``FeatureSIM.m``'s first output (luminance only); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 levels.

    Returns:
        Tensor (N,) in [0, 1], 1 for identical images.
    """
    return _checked(img, ref, data_range, chromatic=False)


def fsimc(img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """FSIMc as ``FeatureSIM.m``'s second output (FSIM times the YIQ chroma term); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey (then FSIMc = FSIM).
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 levels.

    Returns:
        Tensor (N,) in [0, 1], 1 for identical images.
    """
    return _checked(img, ref, data_range, chromatic=True)


def _checked(img: torch.Tensor, ref: torch.Tensor, data_range: float, chromatic: bool) -> torch.Tensor:
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    return _fsim(img.to(dt), ref.to(dt), data_range, chromatic)


_PAPER = "Zhang, Zhang, Mou, Zhang, 'FSIM: A Feature Similarity Index for Image Quality Assessment', IEEE TIP 2011"


@register_metric(
    MetricSpec(
        name="fsim",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="any",
        paper=_PAPER,
        reference_impl="authors' FeatureSIM.m (FSIM output): MATLAB round downsampling, phasecong2 (4 scales x 4 orientations), Scharr, T1=0.85, T2=160",
        tolerance="1e-10 vs a float64 NumPy transcription of FeatureSIM.m (even and odd sizes, f = 1 and 2); piq differs by its pooling/median/rounding (tested)",
        min_size=MIN_SIZE,
        summary="phase congruency and gradient similarity on luminance, PC-weighted",
    )
)
class FSIM(FRMetric):
    """FSIM per image pair, (N,); 1 for identical images (see :func:`fsim`)."""

    function = staticmethod(fsim)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return fsim(img, ref, data_range=self.data_range)


@register_metric(
    MetricSpec(
        name="fsimc",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="any",
        paper=_PAPER,
        reference_impl="authors' FeatureSIM.m (FSIMc output): FSIM times real((S_I S_Q)^0.03), T3=T4=200",
        tolerance="1e-10 vs a float64 NumPy transcription of FeatureSIM.m; piq uses |S_I S_Q|^0.03 (tested)",
        min_size=MIN_SIZE,
        summary="FSIM with YIQ chroma similarity",
    )
)
class FSIMc(FRMetric):
    """FSIMc per image pair, (N,); 1 for identical images (see :func:`fsimc`)."""

    function = staticmethod(fsimc)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return fsimc(img, ref, data_range=self.data_range)
