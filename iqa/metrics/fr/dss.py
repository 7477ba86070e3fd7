"""DSS: DCT subband similarity.

Paper: Amnon Balanov, Arik Schwartz, Yair Moshe, Nimrod Peleg, "Image quality assessment based on DCT
subband similarity", ICIP 2015. Reference implementation: the authors' ``dss_index.m`` (Version 1.00,
(c) 2015 Yair Moshe, SIPL, Technion; MATLAB Central File Exchange 53708,
https://www.mathworks.com/matlabcentral/fileexchange/53708, BSD licence; this file is an independent
re-implementation, no code copied). Followed exactly on 0-255 grey levels:

- crop to a multiple of 8 (top-left kept); 8x8 block DCT (``D * B * D'``, ``D = dctmtx(8)``);
- subband (m, n) is every 8th coefficient from (m, n); its weight exp(-((m - .5)^2 + (n - .5)^2) /
  (2 sigma^2)) for 1-based m, n, sigma = 1.55; subbands with weight < 0.01 are skipped (weight 0);
- per subband, local variances and covariance with ``fspecial('gaussian', 3, 1.5)`` and ``imfilter``
  (zero padding, 'same'), negative variances set to 0; similarity map (2 sqrt(v1 v2) + C) /
  (v1 + v2 + C), C = 1000 for the DC subband and 300 for the others; pooled as the mean of its
  ``round(0.05 * count)`` smallest values (MATLAB round);
- the DC subband's similarity is multiplied by the same pooling of (cov + C) / (sqrt(v1 v2) + C);
- DSS = sum of subband similarities times their weights, divided by the sum of the weights.

Higher is better, 1 for identical images, symmetric in its two arguments (every term is). Scores lie
in (-1, 1]: the DC term (cov + C) / (sqrt(v1 v2) + C) is negative where the DC subbands are
anti-correlated (a negative of the reference, for instance); otherwise scores are in [0, 1].

Colour: ``dss_index.m`` takes grey images only; RGB input is converted as a MATLAB user's
``rgb2gray(imread(f))`` does (``gray="rgb2gray_uint8"``, the default: exact weights on 8-bit data,
rounded grey levels), with the same weights on float data (``"rgb2gray"``), the quoted rounded
weights (``"rgb2gray_rounded"``) or the YIQ luma row 0.299, 0.587, 0.114 (``"yiq"``, piq's choice).

Everything after the grey conversion runs in float64 whatever the input dtype (the result comes back
in the input's compute dtype): sqrt(v1 v2) has an infinite slope at a zero variance, so float32
rounding in flat, saturated areas (AC coefficients of ~1e-4 instead of 0) moved scores by up to 4e-4
(measured on 256x256 photos); float32 grey levels keep flat areas flat and cost ~3e-8. The
local statistics are also centred per subband after the zero padding, which keeps MATLAB's padding
exactly while the squares stay small (DC coefficients reach 2040).
Differentiable (the worst-percentile pooling passes gradients to the pooled positions; a 1e-24 floor
under sqrt(v1 v2) keeps them finite where both variances vanish).

Differences to piq ``dss`` (tested in ``tests/metrics/fr/test_dss.py``):
- piq converts RGB with the YIQ luma row (``gray="yiq"`` here);
- piq takes the pooled count with Python's ``round`` (halves to even): 50 or 90 coefficients per
  subband pool 2 or 4 values there, 3 or 5 here (MATLAB); 10 pool none there (NaN), 1 here;
- piq accumulates the subband similarities in a float32 buffer whatever the input dtype and adds
  float eps to every normalised weight (relative changes ~1e-7).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.matlab import fspecial_gaussian, matlab_round, to_gray

WEIGHT_THRESHOLD = 1e-2
MIN_SIZE = 32  # 4 x 4 coefficients per subband: round(0.05 * 16) = 1 value pooled

Gray = Literal["rgb2gray_uint8", "rgb2gray", "rgb2gray_rounded", "yiq"]
YIQ_LUMA = (0.299, 0.587, 0.114)


def _gray255(x: torch.Tensor, data_range: float, gray: Gray) -> torch.Tensor:
    if gray != "yiq":
        return to_gray(x, data_range=data_range, gray=gray, out_range=255.0)
    if x.shape[1] == 1:
        return x * (255.0 / data_range)
    w = torch.tensor(YIQ_LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x * w).sum(1, keepdim=True) * (255.0 / data_range)


def dct_matrix(n: int, dtype: torch.dtype, device: torch.device | None = None) -> torch.Tensor:
    """MATLAB ``dctmtx(n)``: the orthonormal DCT-II matrix, row k = frequency k."""
    k = torch.arange(n, dtype=torch.float64).view(-1, 1)
    j = torch.arange(n, dtype=torch.float64).view(1, -1)
    d = math.sqrt(2.0 / n) * torch.cos(math.pi * (2 * j + 1) * k / (2 * n))
    d[0] = math.sqrt(1.0 / n)
    return d.to(dtype=dtype, device=device)


def dct_subbands(y: torch.Tensor, n: int) -> torch.Tensor:
    """(N, 1, H, W) with H, W multiples of n -> (N, n*n, H/n, W/n): channel m*n + k is subband (m, k).

    The block DCT ``D * B * D'`` of every n x n block, arranged as MATLAB's ``decomp(m:n:end, k:n:end)``.
    """
    blocks = F.pixel_unshuffle(y, n)  # channel i*n + j holds pixel (i, j) of every block
    d = dct_matrix(n, y.dtype, y.device)
    basis = torch.kron(d, d)  # [(m, k), (i, j)] = D[m, i] D[k, j]
    return torch.einsum("oc,bchw->bohw", basis, blocks)


def subband_weights(n: int, sigma: float, dtype: torch.dtype) -> torch.Tensor:
    """(n*n,) Gaussian weights of the subbands, 0 below the script's 0.01 threshold."""
    c = torch.arange(n, dtype=torch.float64) + 0.5  # 1-based index minus 0.5
    w = torch.exp(-(c.view(-1, 1) ** 2 + c.view(1, -1) ** 2) / (2 * sigma**2)).flatten()
    return w.masked_fill(w < WEIGHT_THRESHOLD, 0.0).to(dtype)


def _local_stats(
    x: torch.Tensor, y: torch.Tensor, kernel: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Variances and covariance per channel under ``imfilter(., kernel)`` (zero padding, 'same').

    Zero padding first, then centring by a constant per channel: the padded samples shift with the
    rest, so the statistics equal MATLAB's while the float32 sums stay small.
    """
    kh, kw = kernel.shape
    pads = [(kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2]
    c = x.shape[1]
    k = kernel.to(x).expand(c, 1, kh, kw)
    xp, yp = F.pad(x, pads), F.pad(y, pads)
    xp = xp - x.mean((2, 3), keepdim=True).detach()  # the statistics do not depend on the constant
    yp = yp - y.mean((2, 3), keepdim=True).detach()

    def filt(v: torch.Tensor) -> torch.Tensor:
        return F.conv2d(v, k, groups=c)

    mx, my = filt(xp), filt(yp)
    vx = (filt(xp * xp) - mx * mx).clamp_min(0)
    vy = (filt(yp * yp) - my * my).clamp_min(0)
    return vx, vy, filt(xp * yp) - mx * my


def _pool_worst(s: torch.Tensor, count: int) -> torch.Tensor:
    """Mean of the ``count`` smallest values of each (N, C, h, w) map -> (N, C)."""
    return torch.topk(s.flatten(2), count, dim=-1, largest=False, sorted=False).values.mean(-1)


def dss(
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    data_range: float = 1.0,
    gray: Gray = "rgb2gray_uint8",
    dct_size: int = 8,
    sigma_weight: float = 1.55,
    kernel_size: int = 3,
    sigma_similarity: float = 1.5,
    percentile: float = 0.05,
    c_dc: float = 1000.0,
    c_ac: float = 300.0,
) -> torch.Tensor:
    """DSS as the authors' ``dss_index.m``; higher is better, 1 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; the constants assume 0-255 grey levels, so inputs are rescaled.
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray, rgb2gray_rounded or yiq (piq).
        dct_size: side of the DCT blocks (the script's 8); images are cropped to a multiple of it.
        sigma_weight: spread of the Gaussian weighting of subbands (the script's sigma argument).
        kernel_size: side of the Gaussian window of the local subband statistics (the script's 3).
        sigma_similarity: standard deviation of that window (the script's 1.5).
        percentile: fraction of each similarity map pooled, its smallest values (the script's 0.05).
        c_dc: constant of the DC subband similarity (the script's C(1) = 1000).
        c_ac: constant of the AC subband similarities (the script's C(2) = 300).

    Returns:
        Tensor (N,) in (-1, 1].

    Example:
        >>> x = torch.rand(2, 3, 64, 64)
        >>> dss(x, x)
        tensor([1., 1.])
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    out_dtype, dt = compute_dtype(img), torch.float64
    n = img.shape[0]
    y = _gray255(torch.cat([img, ref]).to(out_dtype), data_range, gray).to(dt)
    rows, cols = dct_size * (y.shape[-2] // dct_size), dct_size * (y.shape[-1] // dct_size)
    count = matlab_round(percentile * (rows // dct_size) * (cols // dct_size))
    if count < 1:  # MATLAB would average an empty selection: NaN
        raise InputError(
            f"DSS needs at least one pooled value per subband (round(percentile * coefficients) >= 1); images of "
            f"{tuple(img.shape[-2:])} with dct_size={dct_size} and percentile={percentile} give none: use larger images"
        )
    weights = subband_weights(dct_size, sigma_weight, dt)  # on the CPU: which subbands to keep is decided here
    keep = torch.nonzero(weights).flatten()
    if len(keep) == 0:
        raise InputError(f"sigma_weight={sigma_weight} gives every subband a weight below {WEIGHT_THRESHOLD}")
    bands = dct_subbands(y[..., :rows, :cols], dct_size)[:, keep.to(y.device)]
    window = fspecial_gaussian(kernel_size, kernel_size, sigma_similarity, dt)
    v1, v2, cov = _local_stats(bands[:n], bands[n:], window)
    c = torch.full((len(keep), 1, 1), c_ac, dtype=dt).masked_fill((keep == 0).view(-1, 1, 1), c_dc).to(y.device)
    root = torch.sqrt(v1 * v2 + 1e-24)  # the floor keeps the gradient finite where both variances vanish
    sim = _pool_worst((2 * root + c) / (v1 + v2 + c), count)  # (N, K)
    if int(keep[0]) == 0:  # the DC subband, when its weight is kept, also compares structure
        right = (cov[:, :1] + c_dc) / (root[:, :1] + c_dc)
        sim = torch.cat([sim[:, :1] * _pool_worst(right, count), sim[:, 1:]], 1)
    w = weights[keep].to(y.device)
    return ((sim * w).sum(1) / w.sum()).to(out_dtype)


@register_metric(
    MetricSpec(
        name="dss",
        kind="fr",
        higher_is_better=True,
        value_range=(-1.0, 1.0),
        differentiable=True,
        color="gray",
        paper="Balanov, Schwartz, Moshe, Peleg, 'Image quality assessment based on DCT subband similarity', ICIP 2015",
        reference_impl="authors' dss_index.m (crop to 8k, 8x8 block DCT, Gaussian subband weights sigma=1.55, 3x3 "
        "Gaussian local variances, C=[1000 300], mean of the worst 5 %) on MATLAB rgb2gray(uint8) grey levels",
        tolerance="1e-8 vs a float64 NumPy transcription of dss_index.m (float64 and float32 input; 1e-12 without "
        "flat JPEG blocks, where sqrt(v1 v2) amplifies rounding); piq 1e-7 with gray='yiq' where its rounding of the "
        "pooled count agrees (its float32 accumulator; tested)",
        min_size=MIN_SIZE,
        summary="similarity of local variances in 8x8 DCT subbands, worst 5 % pooled, Gaussian subband weights",
    )
)
class DSS(FRMetric):
    """DSS per image pair, (N,); 1 for identical images (see :func:`dss`)."""

    function = staticmethod(dss)

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        gray: Gray = "rgb2gray_uint8",
        dct_size: Annotated[int, Range(2)] = 8,
        sigma_weight: Annotated[float, Range(0.0, min_open=True)] = 1.55,
        kernel_size: Annotated[int, Range(1)] = 3,
        sigma_similarity: Annotated[float, Range(0.0, min_open=True)] = 1.5,
        percentile: Annotated[float, Range(0.0, 1.0, min_open=True)] = 0.05,
        c_dc: Annotated[float, Range(0.0, min_open=True)] = 1000.0,
        c_ac: Annotated[float, Range(0.0, min_open=True)] = 300.0,
    ) -> None:
        super().__init__(data_range=data_range)
        self.gray = gray
        self.dct_size = dct_size
        self.sigma_weight = sigma_weight
        self.kernel_size = kernel_size
        self.sigma_similarity = sigma_similarity
        self.percentile = percentile
        self.c_dc = c_dc
        self.c_ac = c_ac

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return dss(
            img,
            ref,
            data_range=self.data_range,
            gray=self.gray,
            dct_size=self.dct_size,
            sigma_weight=self.sigma_weight,
            kernel_size=self.kernel_size,
            sigma_similarity=self.sigma_similarity,
            percentile=self.percentile,
            c_dc=self.c_dc,
            c_ac=self.c_ac,
        )
