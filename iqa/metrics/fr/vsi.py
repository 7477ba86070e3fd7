"""VSI: visual saliency-induced index.

Paper: Zhang, Shen, Li, "VSI: A Visual Saliency-Induced Index for Perceptual Image Quality
Assessment", IEEE TIP 2014. Reference implementation: the authors' ``VSI.m`` (with its embedded
SDSP saliency, :mod:`iqa.transforms.saliency`), followed exactly on 0-255 RGB:

- saliency maps VS1, VS2 of the full-size images;
- opponent space L = .06 R + .63 G + .27 B, M = .30 R + .04 G - .35 B, N = .34 R - .60 G + .17 B;
- f = max(1, round(min(H, W) / 256)) (MATLAB round), ``conv2(., fspecial('average', f), 'same')``
  and every f-th sample, for L, M, N and the saliency maps;
- Scharr gradient magnitudes of L; similarities with C1 = 1.27 (saliency), C2 = 386 (gradient),
  C3 = 130 (M and N);
- S = S_VS * S_G^0.4 * real((S_M S_N)^0.02) (principal complex branch where S_M S_N < 0),
  weighted by max(VS1, VS2): VSI = sum(S w) / sum(w).

Higher is better, 1 for identical images. Grey input is treated as R = G = B. Differentiable.
Differences to piq ``vsi``: piq resizes to 256 x 256 and back with ``interpolate`` (no
antialiasing, different border handling), uses Python's round and |S_M S_N|^0.02 (tested).
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
from iqa.transforms.saliency import sdsp

C_VS, C_GM, C_CHROM = 1.27, 386.0, 130.0
ALPHA, LAMBDA = 0.40, 0.020
MIN_SIZE = 8
LMN = ((0.06, 0.63, 0.27), (0.30, 0.04, -0.35), (0.34, -0.60, 0.17))


def vsi_score(img255: torch.Tensor, ref255: torch.Tensor) -> torch.Tensor:
    """VSI per pair of RGB images on 0-255."""
    n = len(img255)
    both = torch.cat([ref255, img255])
    vs = sdsp(both)
    f = downsample_factor(*both.shape[-2:])
    # Downsampling and the colour transform are both linear: convert the smaller image.
    lmn = F.conv2d(conv2_downsample(both, f), torch.tensor(LMN, dtype=both.dtype, device=both.device).view(3, 3, 1, 1))
    vs = conv2_downsample(vs, f)
    grad = scharr_magnitude(lmn[:, :1])
    vs1, vs2, g1, g2, c1, c2 = vs[:n], vs[n:], grad[:n], grad[n:], lmn[:n], lmn[n:]
    p = similarity(c1[:, 1:2], c2[:, 1:2], C_CHROM) * similarity(c1[:, 2:], c2[:, 2:], C_CHROM)
    branch = torch.ones_like(p).masked_fill(p < 0, math.cos(math.pi * LAMBDA))  # real(p^lambda) for p < 0
    weight = torch.maximum(vs1, vs2)
    s = similarity(vs1, vs2, C_VS) * similarity(g1, g2, C_GM) ** ALPHA * p.abs() ** LAMBDA * branch * weight
    return s.sum((1, 2, 3)) / weight.sum((1, 2, 3))


def vsi(img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0) -> torch.Tensor:
    """VSI as the authors' ``VSI.m``; higher is better, 1 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey (R = G = B), float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 levels.

    Returns:
        Tensor (N,) in [0, 1].
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    x, y = img.to(dt) * (255.0 / data_range), ref.to(dt) * (255.0 / data_range)
    if x.shape[1] == 1:
        x, y = x.expand(-1, 3, -1, -1), y.expand(-1, 3, -1, -1)
    return vsi_score(x, y)


@register_metric(
    MetricSpec(
        name="vsi",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="rgb",
        paper="Zhang, Shen, Li, 'VSI: A Visual Saliency-Induced Index for Perceptual Image Quality Assessment', IEEE TIP 2014",
        reference_impl="authors' VSI.m with its SDSP (MATLAB bilinear imresize to 256x256, D50 Lab, log-Gabor, centre and colour priors, mat2gray)",
        tolerance="1e-9 vs a float64 NumPy transcription of VSI.m (sizes with f = 1 and 2, odd sides); piq differs by its resizing (tested)",
        min_size=MIN_SIZE,
        summary="saliency, gradient and chroma similarity weighted by SDSP saliency",
    )
)
class VSI(FRMetric):
    """VSI per image pair, (N,); 1 for identical images (see :func:`vsi`)."""

    function = staticmethod(vsi)

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return vsi(img, ref, data_range=self.data_range)
