"""Multi-scale SSIM on the BT.601 Y channel, as Wang's ``msssim.m``: ``ms_ssim`` and ``ms_ssim_wtd_sum``.

Paper: Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for image
quality assessment", Asilomar 2003.
Reference implementation: Wang's ``msssim.m`` (5 scales, weights 0.0448 0.2856 0.3001 0.2363
0.1333, ``imfilter(ones(2)/4, 'symmetric', 'same')`` then ``1:2:end`` between scales, product of
the contrast-structure means at scales 1..4 and the SSIM mean at scale 5, each to its weight).
msssim.m has a second pooling, ``method = 'wtd_sum'``: the weights normalised to sum 1 and the same
means summed with them; several published tables use it. It is ``ms_ssim_wtd_sum`` here (its own
name: anti-correlated images give it negative scores, so its range is [-1, 1]).

Colour: the Y channel of ``rgb2ycbcr`` by default (``gray="y"``); the IQA databases' tables ran
msssim.m on ``rgb2gray`` grey levels: ``gray="rgb2gray_uint8"`` (MATLAB on 8-bit files),
``"rgb2gray"`` or ``"rgb2gray_rounded"``.

Where peers differ: torchmetrics drops the last row/column of odd-sized scales
(``avg_pool2d``) and averages over channels jointly; piq pads odd sizes at the top/left instead
of the bottom/right; both work on RGB channels instead of Y. For anti-correlated images a
contrast-structure mean can be negative: MATLAB then returns a complex number, we clamp it at 0
(as piq does), so the score stays real and in [0, 1].
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch

from iqa.checks import check_data_range, check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.filters import gaussian_kernel1d
from iqa.transforms.matlab import imfilter_downsample
from iqa.transforms.ssim_kernels import Luma, ssim_and_cs, to_luma

WANG_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
Pooling = Literal["product", "wtd_sum"]


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
    pooling: Pooling = "product",
    quantize_y: bool = False,
    gray: Luma = "y",
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
        pooling: msssim.m's method: product (of means to their weights) or wtd_sum (normalised weights).
        quantize_y: round Y to 8-bit levels (MATLAB ``rgb2ycbcr`` on uint8 images).
        gray: RGB to one channel: y (rgb2ycbcr), or rgb2gray_uint8 / rgb2gray / rgb2gray_rounded (LIVE, TID tables).
        kernel_size: side of the Gaussian window (odd; Wang's 11).
        sigma: standard deviation of the Gaussian window (Wang's 1.5).
        k1: luminance constant factor (Wang's 0.01).
        k2: contrast-structure constant factor (Wang's 0.03).

    Returns:
        Tensor (N,): in [0, 1] for ``product``, in [-1, 1] for ``wtd_sum``.

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
    if pooling not in ("product", "wtd_sum"):
        raise InputError(f"pooling must be 'product' or 'wtd_sum', got {pooling!r}")
    x = to_luma(x, data_range=data_range, gray=gray, quantize_y=quantize_y)
    y = to_luma(y, data_range=data_range, gray=gray, quantize_y=quantize_y)
    kernel = gaussian_kernel1d(kernel_size, sigma, dtype=dtype, device=x.device)
    means = []  # contrast-structure means at scales 1..L-1, the SSIM mean at scale L (msssim.m)
    for level in range(len(w)):
        s, cs = ssim_and_cs(x, y, kernel, data_range=data_range, k1=k1, k2=k2)
        means.append((s if level == len(w) - 1 else cs).mean(1))
        if level < len(w) - 1:
            x, y = imfilter_downsample(x, 2), imfilter_downsample(y, 2)
    if pooling == "wtd_sum":
        total = sum(m * (v / sum(w)) for m, v in zip(means, w, strict=True))
    else:  # a negative mean would make MATLAB's power complex: clamped at 0 (see the module notes)
        total = torch.stack([m.clamp_min(0.0) ** v for m, v in zip(means, w, strict=True)]).prod(0)
    return torch.as_tensor(total).to(dtype)


def ms_ssim_wtd_sum(
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    data_range: float = 1.0,
    weights: tuple[float, ...] = WANG_WEIGHTS,
    quantize_y: bool = False,
    gray: Luma = "y",
    kernel_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
) -> torch.Tensor:
    """MS-SSIM with msssim.m's ``wtd_sum`` pooling: sum of the scale means times the normalised weights.

    Args:
        img: images to judge, (N, 3, H, W) or (N, 1, H, W), float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white.
        weights: per-scale weights (normalised to sum 1); their count is the number of scales.
        quantize_y: round Y to 8-bit levels (MATLAB ``rgb2ycbcr`` on uint8 images).
        gray: RGB to one channel: y (rgb2ycbcr), or rgb2gray_uint8 / rgb2gray / rgb2gray_rounded (LIVE, TID tables).
        kernel_size: side of the Gaussian window (odd; Wang's 11).
        sigma: standard deviation of the Gaussian window (Wang's 1.5).
        k1: luminance constant factor (Wang's 0.01).
        k2: contrast-structure constant factor (Wang's 0.03).

    Returns:
        Tensor (N,) in [-1, 1].
    """
    return ms_ssim(img, ref, data_range=data_range, weights=weights, pooling="wtd_sum", quantize_y=quantize_y,
                   gray=gray, kernel_size=kernel_size, sigma=sigma, k1=k1, k2=k2)  # fmt: skip


_PAPER = "Wang, Simoncelli, Bovik, 'Multiscale structural similarity for image quality assessment', Asilomar 2003"


class _MSSSIMBase(FRMetric):
    pooling: Pooling = "product"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        weights: tuple[float, ...] = WANG_WEIGHTS,
        quantize_y: bool = False,
        gray: Luma = "y",
        kernel_size: Annotated[int, Range(1, odd=True)] = 11,
        sigma: Annotated[float, Range(0.0, min_open=True)] = 1.5,
        k1: Annotated[float, Range(0.0, min_open=True)] = 0.01,
        k2: Annotated[float, Range(0.0, min_open=True)] = 0.03,
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = _check_weights(weights)  # non-negative with a positive sum: not a per-value range
        self.quantize_y = quantize_y
        self.gray = gray
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
            pooling=self.pooling,
            quantize_y=self.quantize_y,
            gray=self.gray,
            kernel_size=self.kernel_size,
            sigma=self.sigma,
            k1=self.k1,
            k2=self.k2,
        )


@register_metric(
    MetricSpec(
        name="ms_ssim",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="y",
        min_size=176,
        paper=_PAPER,
        reference_impl="Wang's msssim.m (method 'product', its default) on MATLAB rgb2ycbcr Y",
        tolerance="float64: 1e-10 vs a float64 SciPy transcription of msssim.m; float32: 5e-6 (measured max 1.4e-6); piq 1e-5 on Y for sizes divisible by 16",
        summary="Multi-scale SSIM (5 scales), msssim.m on the BT.601 Y channel",
    )
)
class MSSSIM(_MSSSIMBase):
    """MS-SSIM on Y, msssim.m's product pooling (see :func:`ms_ssim`)."""

    function = staticmethod(ms_ssim)


@register_metric(
    MetricSpec(
        name="ms_ssim_wtd_sum",
        kind="fr",
        higher_is_better=True,
        value_range=(-1.0, 1.0),
        differentiable=True,
        color="y",
        min_size=176,
        paper=_PAPER,
        reference_impl="Wang's msssim.m with method 'wtd_sum' on MATLAB rgb2ycbcr Y",
        tolerance="float64: 1e-10 vs a float64 SciPy transcription of msssim.m (wtd_sum); float32: 5e-6",
        summary="Multi-scale SSIM, msssim.m's weighted-sum pooling (normalised weights) on the BT.601 Y channel",
    )
)
class MSSSIMWeightedSum(_MSSSIMBase):
    """MS-SSIM on Y with msssim.m's ``wtd_sum`` pooling (see :func:`ms_ssim`, ``pooling="wtd_sum"``)."""

    pooling: Pooling = "wtd_sum"
    function = staticmethod(ms_ssim_wtd_sum)
