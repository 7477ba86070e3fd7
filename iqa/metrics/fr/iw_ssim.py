"""IW-SSIM: information content weighted (multi-scale) SSIM.

Paper: Wang, Li, "Information Content Weighting for Perceptual Image Quality Assessment", IEEE TIP
2011. Reference implementation: the authors' ``iwssim.m`` with ``scale_quality_maps.m``,
``info_content_weight_map.m``, ``imenlarge2.m`` and matlabPyrTools' ``buildLpyr``, followed
exactly on grey levels 0-255. RGB input is converted by the ``gray`` option, by default as the
script saw images read from 8-bit files: MATLAB ``rgb2gray`` on ``uint8`` data (exact weights,
result rounded to an integer level; straight-through gradient); ``"rgb2gray_rounded"`` is iqa 0.1's
unrounded 0.2989/0.5870/0.1140 conversion (see :func:`iqa.transforms.matlab.to_gray`):

- five-level Laplacian pyramid, filter ``binom5`` (sqrt(2) [1 4 6 4 1] / 16), 'reflect1' edges,
  decimation at the odd (1-based) samples, expansion by zero insertion;
- per level, SSIM's contrast-structure map with the 11x11 Gaussian (sigma 1.5) 'valid' window,
  K = (0.01, 0.03), L = 255; the luminance term only at the coarsest level;
- information-content weights for the four band-pass levels: a 3x3 neighbourhood plus the parent
  (the next band-pass level of the reference, enlarged by ``imenlarge2``; none for the fourth) under a Gaussian scale mixture,
  covariance Y'Y / n with negative eigenvalues zeroed (variance kept), gain g and residual
  variance from 3x3 box statistics (``filter2 'same'``, zero padding), sigma_n^2 = 0.4;
  w = sum_j log2(1 + ((v + (1 + g^2) s_n) s lambda_j + s_n v) / s_n^2);
- each level's weighted mean cs, combined as prod(cs_s ^ w_s) with (0.0448, 0.2856, 0.3001,
  0.2363, 0.1333) normalised to sum 1.

Higher is better; 1 for identical images. Differentiable. Needs sides of at least 176 pixels. A
singular neighbourhood covariance (flat regions; MATLAB's inv returns Inf) uses the pseudo-inverse;
a piecewise-constant image is NaN, as in the script.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.filters import separable_filter_valid
from iqa.transforms.imresize import imresize
from iqa.transforms.matlab import GrayConversion, inv_or_pinv, to_gray

MIN_SIZE = 176
SCALES = 5
WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
K1, K2, L = 0.01, 0.03, 255.0
SIGMA_NSQ = 0.4
TOL = 1e-15


def _binom5(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=dtype, device=device) * (math.sqrt(2) / 16)


def _filter1d(x: torch.Tensor, f: torch.Tensor, dim: int) -> torch.Tensor:
    """Correlate along ``dim`` (-1 or -2) with 'reflect1' edges (mirror about the edge sample)."""
    pad, k = ((2, 2, 0, 0), f.view(1, 1, 1, 5)) if dim == -1 else ((0, 0, 2, 2), f.view(1, 1, 5, 1))
    return F.conv2d(F.pad(x, pad, mode="reflect"), k)


def _zero_insert(x: torch.Tensor, dim: int, n: int) -> torch.Tensor:
    shape = list(x.shape)
    shape[dim] = n
    z = x.new_zeros(shape)
    if dim == -1:
        z[..., ::2] = x
    else:
        z[..., ::2, :] = x
    return z


def laplacian_pyramid(img: torch.Tensor) -> list[torch.Tensor]:
    """MatlabPyrTools ``buildLpyr(img, 5)`` (binom5, reflect1) on (N, 1, H, W)."""
    f = _binom5(img.dtype, img.device)
    bands, cur = [], img
    for _ in range(SCALES - 1):
        h, w = cur.shape[-2:]
        lo = _filter1d(_filter1d(cur, f, -1)[..., ::2], f, -2)[..., ::2, :]
        up = _filter1d(_zero_insert(_filter1d(_zero_insert(lo, -2, h), f, -2), -1, w), f, -1)
        bands.append(cur - up)
        cur = lo
    bands.append(cur)
    return bands


def _gauss11(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """1-D factor of ``fspecial('gaussian', 11, 1.5)`` (normalised; the 2-D window is its outer product)."""
    t = torch.arange(11, dtype=dtype, device=device) - 5
    g = torch.exp(-(t**2) / (2 * 1.5**2))
    return g / g.sum()


def cs_and_l(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """scale_quality_maps.m: contrast-structure and luminance maps ('valid'), reference x, distorted y."""
    # Separable shifted multiply-adds: ~10x faster on CPU than a 1-channel 11x11 conv2d.
    mu1, mu2, e11, e22, e12 = separable_filter_valid(
        torch.cat([x, y, x * x, y * y, x * y]), _gauss11(x.dtype, x.device)
    ).chunk(5)
    s1 = (e11 - mu1 * mu1).clamp_min(0)
    s2 = (e22 - mu2 * mu2).clamp_min(0)
    s12 = e12 - mu1 * mu2
    c1, c2 = (K1 * L) ** 2, (K2 * L) ** 2
    return (2 * s12 + c2) / (s1 + s2 + c2), (2 * mu1 * mu2 + c1) / (mu1 * mu1 + mu2 * mu2 + c1)


def imenlarge2(x: torch.Tensor) -> torch.Tensor:
    """imenlarge2.m: bilinear to (4M - 3, 4N - 3), linearly extrapolated border, every second sample."""
    m, n = x.shape[-2:]
    t1 = imresize(x, size=(4 * m - 3, 4 * n - 3), method="bilinear")
    t2 = F.pad(t1, (1, 1, 1, 1))
    t2[..., 0, :] = 2 * t2[..., 1, :] - t2[..., 2, :]
    t2[..., -1, :] = 2 * t2[..., -2, :] - t2[..., -3, :]
    t2[..., :, 0] = 2 * t2[..., :, 1] - t2[..., :, 2]
    t2[..., :, -1] = 2 * t2[..., :, -2] - t2[..., :, -3]
    return t2[..., ::2, ::2]


def info_weights(ref: torch.Tensor, dist: torch.Tensor, parent: torch.Tensor | None) -> torch.Tensor:
    """info_content_weight_map.m for one band: (N, 1, H - 2, W - 2)."""
    box = torch.full((3,), 1 / 3, dtype=ref.dtype, device=ref.device)  # filter2(ones(3)/9, ., 'same'): zero padding
    stats = torch.cat([ref, dist, ref * dist, ref * ref, dist * dist])
    mx, my, exy, exx, eyy = separable_filter_valid(F.pad(stats, (1, 1, 1, 1)), box).chunk(5)
    cov = exy - mx * my
    ssx = (exx - mx * mx).clamp_min(0)
    ssy = (eyy - my * my).clamp_min(0)
    g = cov / (ssx + TOL)
    vv = ssy - g * cov
    flat_x = ssx < TOL
    g, vv = g.masked_fill(flat_x, 0), torch.where(flat_x, ssy, vv)
    flat_y = ssy < TOL
    g, vv = g.masked_fill(flat_y, 0), vv.masked_fill(flat_y, 0)
    h, w = ref.shape[-2:]
    nv, nh = h - 2, w - 2
    cols = [ref[..., 1 - dy : 1 - dy + nv, 1 - dx : 1 - dx + nh] for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    if parent is not None:
        cols.append(imenlarge2(parent)[..., :h, :w][..., 1 : 1 + nv, 1 : 1 + nh])
    y = torch.stack([c.flatten(1) for c in cols], -1)  # (N, nexp, n_neighbours)
    n = y.shape[-1]
    cu = y.transpose(1, 2) @ y / y.shape[1]
    lam, q = torch.linalg.eigh(cu)
    pos = lam * (lam > 0)
    total = pos.sum(-1, keepdim=True)
    lam = pos * lam.sum(-1, keepdim=True) / (total + (total == 0).to(total.dtype))  # keep the variance
    cu = q @ torch.diag_embed(lam) @ q.transpose(1, 2)
    ss = ((y @ inv_or_pinv(cu)) * y).sum(-1) / n  # (N, nexp)
    ss = ss.view(-1, 1, nv, nh)
    g, vv = g[..., 1 : 1 + nv, 1 : 1 + nh], vv[..., 1 : 1 + nv, 1 : 1 + nh]
    lam = lam.view(-1, 1, 1, 1, n)
    num = (vv + (1 + g * g) * SIGMA_NSQ)[..., None] * ss[..., None] * lam + (SIGMA_NSQ * vv)[..., None]
    infow = torch.log2(1 + num / SIGMA_NSQ**2).sum(-1)
    return infow.masked_fill(infow < TOL, 0)


def iw_ssim(
    img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, gray: GrayConversion = "rgb2gray_uint8"
) -> torch.Tensor:
    """IW-SSIM as the authors' ``iwssim.m``; higher is better, 1 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 grey levels.
        gray: RGB to grey: "rgb2gray_uint8" (MATLAB on 8-bit data), "rgb2gray" or "rgb2gray_rounded" (float).

    Returns:
        Tensor (N,).
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    n = len(img)
    pyr = laplacian_pyramid(to_gray(torch.cat([ref, img]).to(dt), data_range=data_range, gray=gray, out_range=255))
    w = torch.tensor(WEIGHTS, dtype=dt, device=img.device)
    w = w / w.sum()
    score = torch.ones(n, dtype=dt, device=img.device)
    for s, band in enumerate(pyr):
        r, d = band[:n], band[n:]
        cs, lum = cs_and_l(r, d)
        if s < SCALES - 1:
            # The parent is the next band-pass level; the last band-pass level has none (nband < Nsc - 1).
            parent = pyr[s + 1][:n] if s + 1 < SCALES - 1 else None
            iw = info_weights(r, d, parent)[..., 4:-4, 4:-4]  # bound1 = 5 - 1
            # sum(cs w) / sum(w) as 1 minus the weighted deficit: identical images (cs exactly 1) give
            # exactly 1; the plain ratio's two float32 sums reduce in different orders (iw is a strided
            # view) and gave 1 + 1 ulp, above the declared range.
            mean_cs = 1 - ((1 - cs) * iw).sum((1, 2, 3)) / iw.sum((1, 2, 3))
        else:
            mean_cs = (cs * lum).mean((1, 2, 3))
        score = score * mean_cs ** w[s]
    return score


@register_metric(
    MetricSpec(
        name="iw_ssim",
        kind="fr",
        higher_is_better=True,
        value_range=(-1.0, 1.0),
        differentiable=True,
        color="gray",
        paper="Wang, Li, 'Information Content Weighting for Perceptual Image Quality Assessment', IEEE TIP 2011",
        reference_impl="authors' iwssim.m (+ info_content_weight_map.m, imenlarge2.m, matlabPyrTools buildLpyr binom5/reflect1)",
        tolerance="1e-10 vs a float64 NumPy transcription of iwssim.m whose pyramid is pyrtools' (the matlabPyrTools port); piq.information_weighted_ssim to 1e-10 on grey input (piq takes YIQ luma for RGB)",
        min_size=MIN_SIZE,
        summary="multi-scale SSIM pooled with Gaussian-scale-mixture information-content weights",
    )
)
class IWSSIM(FRMetric):
    """IW-SSIM per image pair, (N,); 1 for identical images."""

    function = staticmethod(iw_ssim)

    def __init__(self, *, data_range: DataRange = 1.0, gray: GrayConversion = "rgb2gray_uint8") -> None:
        super().__init__(data_range=data_range)
        self.gray = gray

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return iw_ssim(img, ref, data_range=self.data_range, gray=self.gray)
