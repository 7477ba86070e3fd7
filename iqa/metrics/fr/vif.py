"""VIF: visual information fidelity in the wavelet domain (the Sheikh-Bovik index).

Paper: Sheikh, Bovik, "Image Information and Visual Quality", IEEE TIP 2006. Reference
implementation: LIVE's ``vifvec.m`` with ``vifsub_est_M.m``, ``refparams_vecgsm.m``,
``ind2wtree.m`` and matlabPyrTools' ``buildSpyr(., 4, 'sp5Filters', 'reflect1')``, followed
exactly on grey levels 0-255. RGB input is converted by the ``gray`` option, by default as the LIVE
scripts saw images read from 8-bit files: MATLAB ``rgb2gray`` on ``uint8`` data (exact weights,
result rounded to an integer level; straight-through gradient); ``"rgb2gray_rounded"`` is iqa 0.1's
unrounded 0.2989/0.5870/0.1140 conversion (see :func:`iqa.transforms.matlab.to_gray`):

- four-level, six-orientation spatial steerable pyramid; the subbands used are the release's
  [4 7 10 13 16 19 22 25] of ``ind2wtree``: orientations 1 and 4 of every level;
- each subband cropped to a multiple of M = 3; distortion channel (g, v) from ``corrDn`` box
  sums of size 2^lev + 1 (lev = ceil((sub - 1) / 6): 17 at the finest level, 3 at the coarsest),
  sampled every 3rd coefficient from the 2nd, with the script's corrections (including its
  un-normalised v = sigma_y^2 where sigma_x^2 < 1e-15 or g < 0, and v floored at 1e-15);
- reference GSM: covariance of all overlapping 3x3 blocks (mean removed), s = x' C^-1 x / 9
  over non-overlapping blocks, eigenvalues lambda_j of C;
- borders of ceil(2^(lev-1) / 3) blocks dropped; VIF = sum log2(1 + g^2 s lambda / (v + 0.4)) /
  sum log2(1 + s lambda / 0.4).

Where a subband's block covariance C is singular (flat regions; MATLAB's ``inv`` returns Inf and
the script NaN) the pseudo-inverse is used. A constant reference carries no information: VIF is
0/0 and returned as NaN, as in the script.

Higher is better; 1 for identical images (it can exceed 1 for contrast enhancement). Float64;
differentiable. The sp5 filter taps are read from pyrtools (``pip install 'iqa[wavelet]'``).
The pixel-domain approximation is ``vifp``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.matlab import GrayConversion, inv_or_pinv, to_gray
from iqa.transforms.pyramids import box_dn, sp5_filters, spatial_pyramid

MIN_SIZE = 72
M = 3
SIGMA_NSQ = 0.4
TOL = 1e-15
LEVELS = 4
ORIENTATIONS = (0, 3)  # ind2wtree subbands 25, 22 | 19, 16 | 13, 10 | 7, 4: bands 1 and 4 of each level
SUBBANDS = ((25, 22), (19, 16), (13, 10), (7, 4))


def channel(y: torch.Tensor, yn: torch.Tensor, lev: int) -> tuple[torch.Tensor, torch.Tensor]:
    """vifsub_est_M.m: gain g and noise variance v per 3x3 block, (N, 1, h/3, w/3)."""
    size = 2**lev + 1
    n = float(size * size)
    both = box_dn(torch.cat([y, yn, y * yn, y * y, yn * yn]), size, M, M // 2)
    sx, sy, sxy, sxx, syy = both.chunk(5)
    mx, my = sx / n, sy / n
    cov = sxy - n * mx * my
    ssx = (sxx - n * mx * mx).clamp_min(0)
    ssy = (syy - n * my * my).clamp_min(0)
    g = cov / (ssx + TOL)
    vv = (ssy - g * cov) / n
    flat_x = ssx < TOL
    g, vv = g.masked_fill(flat_x, 0), torch.where(flat_x, ssy, vv)
    flat_y = ssy < TOL
    g, vv = g.masked_fill(flat_y, 0), vv.masked_fill(flat_y, 0)
    neg = g < 0
    vv, g = torch.where(neg, ssy, vv), g.clamp_min(0)
    return g, torch.where(vv <= TOL, torch.full_like(vv, TOL), vv)


def reference_gsm(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """refparams_vecgsm.m: s field (N, 1, h/3, w/3) and the eigenvalues (N, 9) of the 3x3-block covariance."""
    h, w = y.shape[-2:]
    over = F.unfold(y, M).transpose(1, 2)  # (N, blocks, 9), every overlapping block
    centred = over - over.mean(1, keepdim=True)
    cu = centred.transpose(1, 2) @ centred / over.shape[1]
    disjoint = F.unfold(y, M, stride=M).transpose(1, 2)  # same neighbour order as above
    s = ((disjoint @ inv_or_pinv(cu)) * disjoint).sum(-1) / (M * M)
    return s.view(-1, 1, h // M, w // M), torch.linalg.eigvalsh(cu)


def vif_terms(
    ref: torch.Tensor, dist: torch.Tensor, pyramid_dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """Numerator and denominator of vifvec.m, per image (grey levels 0-255, float64 statistics).

    The pyramid runs in ``pyramid_dtype``: CPU float64 convolution has no fast kernel, and the
    subbands of a float32 pyramid move VIF by up to 2e-7 relative (measured, 16 pairs); the block
    statistics, where E[x^2] - mu^2 cancels, always run in float64.
    """
    n = len(ref)
    pyr = [b.to(torch.float64) for b in spatial_pyramid(torch.cat([ref, dist]).to(pyramid_dtype), LEVELS, ORIENTATIONS)]
    num = torch.zeros(n, dtype=ref.dtype, device=ref.device)
    den = torch.zeros_like(num)
    for level, subs in enumerate(SUBBANDS):
        for o, sub in enumerate(subs):
            band = pyr[level][:, o : o + 1]
            h, w = (band.shape[-2] // M) * M, (band.shape[-1] // M) * M
            y, yn = band[:n, :, :h, :w], band[n:, :, :h, :w]
            lev = math.ceil((sub - 1) / 6)
            g, vv = channel(y, yn, lev)
            ss, lam = reference_gsm(y)
            off = math.ceil(2 ** (lev - 1) / M)
            crop = (..., slice(off, -off), slice(off, -off))
            g, vv, ss = g[crop], vv[crop], ss[crop]
            lam = lam.view(n, 1, 1, 1, -1)
            num = num + torch.log2(1 + (g * g * ss)[..., None] * lam / (vv[..., None] + SIGMA_NSQ)).sum((1, 2, 3, 4))
            den = den + torch.log2(1 + ss[..., None] * lam / SIGMA_NSQ).sum((1, 2, 3, 4))
    return num, den


def vif(
    img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, gray: GrayConversion = "rgb2gray_uint8"
) -> torch.Tensor:
    """Wavelet-domain VIF as LIVE's ``vifvec.m``; higher is better, 1 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 grey levels.
        gray: RGB to grey: "rgb2gray_uint8" (MATLAB on 8-bit data), "rgb2gray" or "rgb2gray_rounded" (float).

    Returns:
        Tensor (N,), above 1 for contrast enhancement.
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    # float64 throughout: box sums of squares minus squared means cancel badly in float32.
    r, d = to_gray(torch.cat([ref, img]).to(torch.float64), data_range=data_range, gray=gray, out_range=255).chunk(2)
    num, den = vif_terms(r, d, compute_dtype(img))
    return (num / den).to(compute_dtype(img))


@register_metric(
    MetricSpec(
        name="vif",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="gray",
        paper="Sheikh, Bovik, 'Image Information and Visual Quality', IEEE TIP 2006",
        reference_impl="LIVE vifvec.m (+ vifsub_est_M.m, refparams_vecgsm.m, ind2wtree.m) on matlabPyrTools buildSpyr(4, 'sp5Filters', 'reflect1')",
        tolerance="1e-10 vs a float64 NumPy transcription of vifvec.m whose pyramid is pyrtools' SteerablePyramidSpace",
        min_size=MIN_SIZE,
        summary="visual information fidelity over steerable-pyramid subbands (GSM model)",
        identity_value=1.0,  # not the best value: contrast enhancement scores above 1
    )
)
class VIF(FRMetric):
    """Wavelet-domain VIF per image pair, (N,); 1 for identical images."""

    function = staticmethod(vif)

    def __init__(self, *, data_range: DataRange = 1.0, gray: GrayConversion = "rgb2gray_uint8") -> None:
        super().__init__(data_range=data_range)
        self.gray = gray
        sp5_filters()  # fail at construction, with the pip command, if pyrtools is missing

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return vif(img, ref, data_range=self.data_range, gray=self.gray)
