"""GMSD: gradient magnitude similarity deviation.

Paper: Xue, Zhang, Mou, Bovik, "Gradient Magnitude Similarity Deviation: A Highly Efficient
Perceptual Image Quality Index", IEEE TIP 2014. Reference implementation: the authors' MATLAB
``GMSD.m`` (www4.comp.polyu.edu.hk/~cslzhang/IQA/GMSD/GMSD.htm), followed exactly:

- grey levels on the 0-255 scale: RGB through MATLAB ``rgb2gray`` on 8-bit data (exact weights, the
  result rounded to integer levels; ``gray=`` names the other conversions), grey input as is;
- ``conv2(Y, ones(2)/4, 'same')`` then every second row/column: 2x2 block means, the last block
  of an odd size averaged with MATLAB's zero padding at the bottom/right;
- Prewitt gradients ``[1 0 -1; 1 0 -1; 1 0 -1]/3`` and its transpose, ``conv2(..., 'same')`` (zero
  padding), magnitude sqrt(gx^2 + gy^2);
- GMS = (2 m1 m2 + T) / (m1^2 + m2^2 + T), T = 170; score = ``std2(GMS)`` (sample std, N - 1).

Lower is better; 0 for identical images. Differentiable (a 1e-24 floor inside the square root
keeps the gradient finite on flat areas; it moves a zero magnitude to 1e-12 grey levels).
Differences to piq ``gmsd``: piq takes the population standard deviation (N, not N - 1), YIQ luma
weights (0.299, 0.587, 0.114) without rounding, and pads both dimensions when either is odd. The
rounding matters: on near-lossless pairs the unrounded grey levels move GMSD by tens of percent.
"""

from __future__ import annotations

import math

import torch

from iqa.checks import check_data_range, check_pair
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.gradients import prewitt_magnitude
from iqa.transforms.matlab import GrayConversion, conv2_downsample, to_gray

T = 170.0
MIN_SIZE = 4


def gms_map(
    img: torch.Tensor, ref: torch.Tensor, data_range: float, t: float = T, gray: GrayConversion = "rgb2gray_uint8"
) -> torch.Tensor:
    """GMSD.m's gradient magnitude similarity map on half-resolution grey levels, (N, 1, H', W')."""
    # GMSD.m: double(rgb2gray(uint8 image)) on the 0-255 scale, then 2x2 means.
    m1, m2 = (
        prewitt_magnitude(conv2_downsample(to_gray(x, data_range=data_range, gray=gray, out_range=255), 2))
        for x in (img, ref)
    )
    return (2 * m1 * m2 + t) / (m1 * m1 + m2 * m2 + t)


def gmsd(
    img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, gray: GrayConversion = "rgb2gray_uint8"
) -> torch.Tensor:
    """GMSD as the authors' ``GMSD.m``; lower is better, 0 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 levels (T = 170).
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray (float) or rgb2gray_rounded.

    Returns:
        Tensor (N,), the sample standard deviation of the similarity map.
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    return gms_map(img.to(dt), ref.to(dt), data_range, gray=gray).flatten(1).std(dim=1, unbiased=True)


@register_metric(
    MetricSpec(
        name="gmsd",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="gray",
        paper="Xue, Zhang, Mou, Bovik, 'Gradient Magnitude Similarity Deviation: A Highly Efficient Perceptual Image Quality Index', IEEE TIP 2014",
        reference_impl="authors' MATLAB GMSD.m on rgb2gray(uint8) (2x2 mean + downsample, Prewitt, T=170, std2)",
        tolerance="1e-10 absolute vs a float64 transcription of GMSD.m fed MATLAB rgb2gray output; piq differs by its "
        "N vs N-1 std and luma weights (tested)",
        min_size=MIN_SIZE,
        summary="gradient magnitude similarity deviation on half-resolution grey levels",
    )
)
class GMSD(FRMetric):
    """GMSD score per image pair, (N,); 0 for identical images (see :func:`gmsd`)."""

    function = staticmethod(gmsd)

    def __init__(self, *, data_range: DataRange = 1.0, gray: GrayConversion = "rgb2gray_uint8") -> None:
        super().__init__(data_range=data_range)
        self.gray = gray

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return gmsd(img, ref, data_range=self.data_range, gray=self.gray)
