"""Multi-scale SSIM on the BT.601 Y channel, as Wang's ``msssim.m``.

Paper: Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for image
quality assessment", Asilomar 2003.
Reference implementation: Wang's ``msssim.m`` (5 scales, weights 0.0448 0.2856 0.3001 0.2363
0.1333, ``imfilter(ones(2)/4, 'symmetric', 'same')`` then ``1:2:end`` between scales, product of
the contrast-structure means at scales 1..4 and the SSIM mean at scale 5, each to its weight).

Where peers differ: torchmetrics drops the last row/column of odd-sized scales
(``avg_pool2d``) and averages over channels jointly; piq pads odd sizes at the top/left instead
of the bottom/right; both work on RGB channels instead of Y. For anti-correlated images a
contrast-structure mean can be negative: MATLAB then returns a complex number, we clamp it at 0
(as piq does), so the score stays real and in [0, 1].
"""

from __future__ import annotations

from typing import Annotated

import torch

from iqa.checks import check_data_range, check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.color import rgb_to_y
from iqa.transforms.filters import gaussian_kernel1d
from iqa.transforms.matlab import imfilter_downsample
from iqa.transforms.ssim_kernels import ssim_and_cs

WANG_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _check_weights(weights: tuple[float, ...]) -> tuple[float, ...]:
    w = tuple(float(v) for v in weights)
    if not w or any(v < 0 for v in w) or sum(w) == 0:
        raise InputError(f"weights must be non-negative with a positive sum, got {weights!r}")
    return w


def ms_ssim(
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    data_range: float = 1.0,
    weights: tuple[float, ...] = WANG_WEIGHTS,
    quantize_y: bool = False,
    kernel_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """MS-SSIM of each image on Y (single-channel inputs as they are); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) or (N, 1, H, W), float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white.
        weights: per-scale exponents; their count is the number of scales.
        quantize_y: round Y to 8-bit levels (MATLAB ``rgb2ycbcr`` on uint8 images).
        kernel_size: side of the Gaussian window (odd; Wang's 11).
        sigma: standard deviation of the Gaussian window (Wang's 1.5).
        k1: luminance constant factor (Wang's 0.01).
        k2: contrast-structure constant factor (Wang's 0.03).

    Returns:
        Tensor (N,) in [0, 1].

    Raises:
        ShapeError: the smaller side is below ``kernel_size * 2 ** (scales - 1)`` (176 by
            default), the limit ``msssim.m`` enforces.
    """
    data_range = check_data_range(data_range)
    w = _check_weights(weights)
    min_size = kernel_size * 2 ** (len(w) - 1)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=min_size)
    dtype = compute_dtype(img)
    x, y = img.to(dtype), ref.to(dtype)
    if x.shape[1] == 3:
        x = rgb_to_y(x, data_range=data_range, quantize=quantize_y)
        y = rgb_to_y(y, data_range=data_range, quantize=quantize_y)
    kernel = gaussian_kernel1d(kernel_size, sigma, dtype=dtype, device=x.device)
    total = torch.ones(x.shape[0], dtype=torch.float64, device=x.device)
    for level, weight in enumerate(w):
        s, cs = ssim_and_cs(x, y, kernel, data_range=data_range, k1=k1, k2=k2)
        term = s if level == len(w) - 1 else cs
        total = total * term.mean(1).clamp_min(0.0) ** weight
        if level < len(w) - 1:
            x, y = imfilter_downsample(x, 2), imfilter_downsample(y, 2)
    return total.to(dtype)


@register_metric(
    MetricSpec(
        name="ms_ssim",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="y",
        min_size=176,
        paper="Wang, Simoncelli, Bovik, 'Multiscale structural similarity for image quality assessment', Asilomar 2003",
        reference_impl="Wang's msssim.m on MATLAB rgb2ycbcr Y",
        tolerance="float64: 1e-10 vs a float64 SciPy transcription of msssim.m; float32: 5e-6 (measured max 1.4e-6); piq 1e-5 on Y for sizes divisible by 16",
        summary="Multi-scale SSIM (5 scales), msssim.m on the BT.601 Y channel",
    )
)
class MSSSIM(FRMetric):
    """MS-SSIM on Y (see :func:`ms_ssim`)."""

    function = staticmethod(ms_ssim)

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        weights: tuple[float, ...] = WANG_WEIGHTS,
        quantize_y: bool = False,
        kernel_size: Annotated[int, Range(1, odd=True)] = 11,
        sigma: Annotated[float, Range(0.0, min_open=True)] = 1.5,
        k1: Annotated[float, Range(0.0, min_open=True)] = 0.01,
        k2: Annotated[float, Range(0.0, min_open=True)] = 0.03,
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = _check_weights(weights)  # non-negative with a positive sum: not a per-value range
        self.quantize_y = quantize_y
        self.kernel_size = kernel_size
        self.sigma = sigma
        self.k1 = k1
        self.k2 = k2

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return ms_ssim(
            img,
            ref,
            data_range=self.data_range,
            weights=self.weights,
            quantize_y=self.quantize_y,
            kernel_size=self.kernel_size,
            sigma=self.sigma,
            k1=self.k1,
            k2=self.k2,
        )
