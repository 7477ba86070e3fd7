"""MATLAB conventions the reference implementations rely on, in one place.

Every classic metric here follows an author's MATLAB script; the MATLAB built-ins those scripts
call have exact rules (coefficients, rounding, boundary handling, centring of even kernels) that
decide the last digits of a score. This module is where each of them lives:

- :func:`rgb2gray`: ``rgb2gray`` with MATLAB's exact coefficients or the rounded ones most scripts
  quote, optionally on ``uint8`` data (MATLAB's rounding of the image and of the result);
- :func:`to_gray`: the grey conversion of a metric's ``gray`` option, by protocol name
  (:data:`GrayConversion`; the default everywhere is ``"rgb2gray_uint8"``, what the authors' scripts
  computed on images read from 8-bit files);
- :func:`matlab_round`: ``round`` (halves away from zero);
- :func:`median`: ``median`` (mean of the two middle values for an even count);
- :func:`conv2_same`: ``conv2(X, K, 'same')`` (a true convolution, zero padding, MATLAB's
  centring of even kernels);
- :func:`conv2_downsample`: ``conv2(X, ones(f)/f^2, 'same')`` then ``X(1:f:end, 1:f:end)``
  (FeatureSIM.m, VSI.m, MDSI.m with ``f = downsample_factor``; GMSD.m and HaarPSI.m with f = 2);
- :func:`imfilter_downsample`: ``imfilter(X, ones(f)/f^2, 'symmetric', 'same')`` then
  ``X(1:f:end, 1:f:end)`` (Wang's ssim.m with ``f = downsample_factor``, msssim.m with f = 2);
- :func:`downsample_factor`: ``max(1, round(min(rows, cols) / 256))``, the automatic factor of
  ssim.m, FeatureSIM.m, VSI.m and MDSI.m;
- :func:`fspecial_gaussian`: ``fspecial('gaussian', [rows cols], sigma)``;
- :func:`inv_or_pinv`: ``inv`` where it is defined, ``pinv`` where MATLAB's would return Inf;
- ``symmetric_pad`` (``padarray(..., 'symmetric')``, ``imfilter(..., 'symmetric')``) lives in
  :mod:`iqa.transforms.filters` and ``imresize`` (bicubic/bilinear, antialiased) in
  :mod:`iqa.transforms.imresize`; both are re-exported here.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F

from iqa.transforms.filters import symmetric_pad
from iqa.transforms.imresize import imresize

__all__ = [
    "GRAY_CONVERSIONS",
    "RGB2GRAY",
    "GrayConversion",
    "conv2_downsample",
    "conv2_same",
    "downsample_factor",
    "fspecial_gaussian",
    "imfilter_downsample",
    "imresize",
    "inv_or_pinv",
    "matlab_round",
    "median",
    "rgb2gray",
    "symmetric_pad",
    "to_gray",
]

# rgb2gray's weights: "matlab" is what the function computes (the Y row of the inverse of
# rgb2ntsc's matrix, as rgb2gray.m prints them); "rounded" is the 4-digit form its documentation
# quotes and most reference scripts (GMSD, NIQE, BRISQUE, MAD, VIF, NLPD, ...) were checked with.
RGB2GRAY = {
    "matlab": (0.298936021293775, 0.587043074451121, 0.114020904255103),
    "rounded": (0.2989, 0.5870, 0.1140),
}


def matlab_round(v: float) -> int:
    """MATLAB ``round``: halves away from zero (Python's ``round`` takes halves to even)."""
    return int(math.floor(v + 0.5))


def _round_levels(v: torch.Tensor) -> torch.Tensor:
    """``uint8(v)`` for v on 0-255 (clamped; halves away from zero), with a straight-through gradient."""
    q = torch.floor(v.clamp(0, 255) + 0.5)
    if v.requires_grad:
        return v + (q - v).detach()  # exact: q - v and v + (q - v) are representable for |q - v| <= 1/2
    return q


def rgb2gray(
    x: torch.Tensor,
    *,
    data_range: float = 1.0,
    coefficients: Literal["matlab", "rounded"] = "matlab",
    quantize: bool = False,
    out_range: float | None = None,
) -> torch.Tensor:
    """MATLAB ``rgb2gray`` of (N, 3, H, W) images; (N, 1, H, W) grey input passes through.

    Args:
        x: float images in ``[0, data_range]``, (N, 3, H, W) RGB or (N, 1, H, W) grey.
        data_range: value of white in ``x``.
        coefficients: "matlab" (rgb2gray's exact weights) or "rounded" (0.2989, 0.5870, 0.1140).
        quantize: MATLAB on ``uint8`` data: the RGB image is rounded to 8-bit levels first (as
            ``im2uint8``) and the grey result too, both half away from zero (on data from 8-bit
            files the first rounding changes nothing); the gradient passes straight through both.
        out_range: value of white in the output (default ``data_range``; 255 gives grey levels).

    Returns:
        (N, 1, H, W) grey images, same dtype as ``x``.
    """
    out_range = data_range if out_range is None else out_range
    if quantize:
        # MATLAB computes the weighted sum in double; in float32 a sum that lies within ~1e-5 of a
        # half level (on 8-bit data, 1 pixel in ~1e4 in practice) could round the other way.
        wide = torch.float32 if x.device.type == "mps" else torch.float64  # MPS has no float64
        v = x.to(wide) * (255.0 / data_range)
        if v.shape[1] == 3:
            u8 = torch.floor(v.clamp(0, 255) + 0.5)  # im2uint8: halves away from zero
            v = _weighted(v + (u8 - v).detach() if v.requires_grad else u8, coefficients)
        return (_round_levels(v) * (out_range / 255.0)).to(x.dtype)
    if x.shape[1] == 3:
        x = _weighted(x, coefficients)
    return x * (out_range / data_range)


def _weighted(x: torch.Tensor, coefficients: str) -> torch.Tensor:
    w = torch.tensor(RGB2GRAY[coefficients], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True)


#: RGB -> grey protocols of the grey metrics' ``gray`` option:
#: - ``rgb2gray_uint8``: MATLAB ``rgb2gray`` on ``uint8`` data, what the authors' scripts computed on
#:   images read from 8-bit files: the image on 8-bit levels, the exact weights, the result rounded
#:   to an integer level (half away from zero); gradients pass straight through both roundings.
#: - ``rgb2gray``: the exact weights on float data, no rounding (``rgb2gray(im2double(...))``).
#: - ``rgb2gray_rounded``: 0.2989, 0.5870, 0.1140 on float data, no rounding (iqa 0.1's conversion,
#:   and what several ports use).
GrayConversion = Literal["rgb2gray_uint8", "rgb2gray", "rgb2gray_rounded"]
GRAY_CONVERSIONS: tuple[str, ...] = ("rgb2gray_uint8", "rgb2gray", "rgb2gray_rounded")


def to_gray(
    x: torch.Tensor, *, data_range: float = 1.0, gray: GrayConversion = "rgb2gray_uint8", out_range: float | None = None
) -> torch.Tensor:
    """(N, 1, H, W) grey images of (N, 3, H, W) RGB under the protocol ``gray`` names.

    Grey input (one channel) passes through unchanged under every protocol (only rescaled to
    ``out_range``): MATLAB scripts call ``rgb2gray`` on RGB input only.

    Args:
        x: float images in ``[0, data_range]``, (N, 3, H, W) or (N, 1, H, W).
        data_range: value of white in ``x``.
        gray: the protocol (:data:`GrayConversion`).
        out_range: value of white in the output (default ``data_range``; 255 gives grey levels).
    """
    if gray not in GRAY_CONVERSIONS:
        raise ValueError(f"gray must be one of {GRAY_CONVERSIONS}, got {gray!r}")
    out = data_range if out_range is None else out_range
    if x.shape[1] == 1:
        return x * (out / data_range)
    if gray == "rgb2gray_uint8":
        return rgb2gray(x, data_range=data_range, coefficients="matlab", quantize=True, out_range=out)
    if gray == "rgb2gray":
        return rgb2gray(x, data_range=data_range, coefficients="matlab", out_range=out)
    return rgb2gray(x, data_range=data_range, coefficients="rounded", out_range=out)


def median(v: torch.Tensor) -> torch.Tensor:
    """MATLAB ``median`` over the last dim: the mean of the two middle values for an even count.

    ``torch.median`` returns the lower middle value instead. Differentiable (to the middle elements).
    """
    n = v.shape[-1]
    lo = torch.kthvalue(v, (n + 1) // 2, dim=-1).values
    if n % 2:
        return lo
    # The next order statistic without a second selection: lo itself if it occurs often enough,
    # else the smallest value above it.
    enough = (v <= lo[..., None]).sum(-1) >= n // 2 + 1
    above = v.masked_fill(v <= lo[..., None], torch.inf).amin(-1)
    return (lo + torch.where(enough, lo, above)) / 2


def downsample_factor(rows: int, cols: int) -> int:
    """``max(1, round(min(rows, cols) / 256))`` with MATLAB's round (a 640-pixel side gives 3, not 2)."""
    return max(1, matlab_round(min(rows, cols) / 256))


def conv2_same(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """MATLAB ``conv2(X, K, 'same')`` on every channel of (N, C, H, W) ``x``; ``kernel`` is (kh, kw).

    A true convolution (the kernel is flipped) with zero padding; 'same' keeps the full output from
    index ``floor(k / 2)``, i.e. pads ``k - 1 - floor(k / 2)`` before and ``floor(k / 2)`` after.
    """
    kh, kw = kernel.shape
    c = x.shape[1]
    k = kernel.flip(-2, -1).to(x).expand(c, 1, kh, kw)
    if kh % 2 and kw % 2:
        return F.conv2d(x, k, padding=(kh // 2, kw // 2), groups=c)
    pads = (kw - 1 - kw // 2, kw // 2, kh - 1 - kh // 2, kh // 2)
    return F.conv2d(F.pad(x, pads), k, groups=c)


def conv2_downsample(x: torch.Tensor, f: int) -> torch.Tensor:
    """``conv2(X, fspecial('average', f), 'same')`` sampled at ``1:f:end``, per channel.

    MATLAB's 'same' for a kernel of size f keeps full-convolution rows floor(f/2)..: zero padding
    of f - 1 - floor(f/2) before and floor(f/2) after, i.e. ceil(n/f) outputs per side. For f = 2
    these are 2x2 block means with the last block of an odd side zero-padded at the bottom/right.
    """
    if f == 1:
        return x
    before = f - 1 - f // 2
    # Pad (or crop) each side to exactly f * ceil(n / f) samples: rows past the last window are never used.
    pads = []
    for n in (x.shape[-1], x.shape[-2]):
        pads += [before, f * math.ceil(n / f) - n - before]
    if f == 2:  # two strided adds, twice as fast as avg_pool2d on CPU
        if any(pads):
            x = F.pad(x, pads)
        s = x[..., 0::2, :] + x[..., 1::2, :]
        return (s[..., 0::2] + s[..., 1::2]) * 0.25
    return F.avg_pool2d(F.pad(x, pads), kernel_size=f, stride=f)


def imfilter_downsample(x: torch.Tensor, f: int) -> torch.Tensor:
    """``imfilter(X, ones(f)/f^2, 'symmetric', 'same')`` then ``X(1:f:end, 1:f:end)`` (ssim.m, msssim.m).

    Half-sample-symmetric padding by ``(f-1)//2`` before and what the strided windows read after,
    then an ``f x f`` average pool with stride ``f``. Output size is ``ceil(H/f) x ceil(W/f)``. For
    ``f == 2`` and even sizes this equals ``avg_pool2d(x, 2)``.
    """
    if f <= 1:
        return x
    before = (f - 1) // 2
    h, w = x.shape[-2:]
    # Pad only what the strided windows actually read, to avoid copying more than needed.
    after_h = max(0, math.ceil(h / f) * f - h - before)
    after_w = max(0, math.ceil(w / f) * f - w - before)
    x = symmetric_pad(x, before, after_h, before, after_w)
    return F.avg_pool2d(x, kernel_size=f, stride=f)


def fspecial_gaussian(rows: int, cols: int, sigma: float, dtype: torch.dtype) -> torch.Tensor:
    """MATLAB ``fspecial('gaussian', [rows cols], sigma)``: taps below eps x max dropped, sum 1."""
    y = torch.arange(rows, dtype=dtype) - (rows - 1) / 2
    x = torch.arange(cols, dtype=dtype) - (cols - 1) / 2
    h = torch.exp(-(y[:, None] ** 2 + x[None, :] ** 2) / (2 * sigma**2))
    h = h.masked_fill(h < torch.finfo(dtype).eps * h.max(), 0)
    return h / h.sum()


def inv_or_pinv(c: torch.Tensor) -> torch.Tensor:
    """Inverse of a batch of symmetric matrices; the pseudo-inverse for the singular ones.

    Where MATLAB's ``inv`` warns and returns Inf (a flat image region makes a block covariance
    singular) and the scripts go on to NaN, this keeps the index defined.
    """
    inv, info = torch.linalg.inv_ex(c)
    if bool((info != 0).any()):
        inv = torch.where((info != 0).view(-1, *([1] * (c.dim() - 1))), torch.linalg.pinv(c, hermitian=True), inv)
    return inv
