"""GMSD: gradient magnitude similarity deviation.

Paper: Xue, Zhang, Mou, Bovik, "Gradient Magnitude Similarity Deviation: A Highly Efficient
Perceptual Image Quality Index", IEEE TIP 2014. Reference implementation: the authors' MATLAB
``GMSD.m`` (www4.comp.polyu.edu.hk/~cslzhang/IQA/GMSD/GMSD.htm), followed exactly:

- grey levels on the 0-255 scale (MATLAB ``rgb2gray`` weights 0.2989, 0.5870, 0.1140 for RGB);
- ``conv2(Y, ones(2)/4, 'same')`` then every second row/column: 2x2 block means, the last block
  of an odd size averaged with MATLAB's zero padding at the bottom/right;
- Prewitt gradients ``[1 0 -1; 1 0 -1; 1 0 -1]/3`` and its transpose, ``conv2(..., 'same')`` (zero
  padding), magnitude sqrt(gx^2 + gy^2);
- GMS = (2 m1 m2 + T) / (m1^2 + m2^2 + T), T = 170; score = ``std2(GMS)`` (sample std, N - 1).

Lower is better; 0 for identical images. Differentiable (a 1e-24 floor inside the square root
keeps the gradient finite on flat areas; it moves a zero magnitude to 1e-12 grey levels).
Differences to piq ``gmsd``: piq takes the population standard deviation (N, not N - 1), YIQ luma
weights (0.299, 0.587, 0.114), and pads both dimensions when either is odd.
"""

from __future__ import annotations

import math

import torch

from iqa.checks import check_pair
from iqa.metrics.base import FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.gradients import prewitt_magnitude
from iqa.transforms.matlab import conv2_downsample, rgb2gray

T = 170.0


def gms_map(img: torch.Tensor, ref: torch.Tensor, data_range: float, t: float = T) -> torch.Tensor:
    m1 = prewitt_magnitude(
        conv2_downsample(rgb2gray(img, data_range=data_range, coefficients="rounded", out_range=255), 2)
    )
    m2 = prewitt_magnitude(
        conv2_downsample(rgb2gray(ref, data_range=data_range, coefficients="rounded", out_range=255), 2)
    )
    return (2 * m1 * m2 + t) / (m1 * m1 + m2 * m2 + t)


@register_metric(
    MetricSpec(
        name="gmsd",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="gray",
        paper="Xue, Zhang, Mou, Bovik, 'Gradient Magnitude Similarity Deviation: A Highly Efficient Perceptual Image Quality Index', IEEE TIP 2014",
        reference_impl="authors' MATLAB GMSD.m (rgb2gray, 2x2 mean + downsample, Prewitt, T=170, std2)",
        tolerance="1e-10 absolute vs a float64 transcription of GMSD.m; piq differs by its N vs N-1 std and luma weights (tested)",
        min_size=4,
        summary="gradient magnitude similarity deviation on half-resolution grey levels",
    )
)
class GMSD(FRMetric):
    """GMSD score per image pair, (N,); 0 for identical images."""

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        check_pair(img, ref, data_range=self.data_range, min_size=self.spec.min_size)
        dt = compute_dtype(img)
        q = gms_map(img.to(dt), ref.to(dt), self.data_range)
        return q.flatten(1).std(dim=1, unbiased=True)
