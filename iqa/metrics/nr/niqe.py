"""NIQE: natural image quality evaluator.

Paper: Mittal, Soundararajan, Bovik, "Making a 'Completely Blind' Image Quality Analyzer", IEEE
Signal Processing Letters 2013. Reference implementation: the authors' MATLAB release
(``computequality.m``, ``computefeature.m``, ``estimateaggdparam.m``) with the pristine model
``modelparameters.mat`` (here ``niqe_pris_params`` from the weights manager). Followed exactly:

- grey levels 0-255: RGB through MATLAB ``rgb2gray`` on uint8 (exact weights, result rounded;
  ``gray=`` names the other conversions), grey input rounded to 8-bit levels as the script's
  uint8 images; the image is cropped to whole 96x96 blocks (top-left kept);
- two scales; at each, ``imfilter(.., fspecial('gaussian', 7, 7/6), 'replicate')`` local mean and
  deviation, MSCN = (I - mu) / (sigma + 1) (constant windows as MATLAB's,
  :func:`iqa.transforms.nss.flat_value`); per block (96/scale) an AGGD fit of the MSCN values
  (alpha from the grid 0.2:0.001:10, mean of the two betas) and of the products with the four
  circularly shifted neighbours (0,1), (1,0), (1,1), (1,-1) (alpha, mean, beta_left,
  beta_right, beta = std sqrt(G(1/alpha)/G(3/alpha))): 18 features per scale; between scales MATLAB ``imresize(.., 0.5)`` (bicubic,
  antialiased; :mod:`iqa.transforms.imresize`);
- quality = sqrt((mu_p - mu_d) pinv((C_p + C_d) / 2) (mu_p - mu_d)^T), with ``nanmean`` and
  ``nancov`` (rows with a NaN dropped) over the image's blocks.

Lower is better. Float64 throughout; not differentiable (the AGGD grid search).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from iqa.checks import check_data_range, check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.registry import MetricSpec, OfflineBuild, register_metric
from iqa.transforms.imresize import imresize
from iqa.transforms.matlab import GrayConversion, to_gray
from iqa.transforms.nss import gamma_grid, mscn
from iqa.weights import resolve_weights

BLOCK = 96
SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
MIN_SIZE = BLOCK * 2


def aggd(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """NIQE's estimateaggdparam.m on each row of (B, n): alpha, beta_left, beta_right."""
    neg, pos = v < 0, v > 0
    left = torch.sqrt((v * v * neg).sum(1) / neg.sum(1))
    right = torch.sqrt((v * v * pos).sum(1) / pos.sum(1))
    g = left / right
    rhat = v.abs().mean(1) ** 2 / (v * v).mean(1)
    rnorm = rhat * (g**3 + 1) * (g + 1) / (g**2 + 1) ** 2
    gam, r = gamma_grid()
    idx = torch.argmin((r.to(v).unsqueeze(0) - rnorm.unsqueeze(1)) ** 2, dim=1)  # first minimum, as MATLAB's min
    alpha = gam.to(v)[idx]
    scale = torch.exp(0.5 * (torch.lgamma(1 / alpha) - torch.lgamma(3 / alpha)))  # sqrt(G(1/a) / G(3/a))
    return alpha, left * scale, right * scale


def block_features(s: torch.Tensor, block: int) -> torch.Tensor:
    """(H, W) MSCN map -> (blocks, 18) NIQE features, blocks of ``block`` x ``block``."""
    h, w = s.shape[0] // block, s.shape[1] // block
    b = s[: h * block, : w * block].reshape(h, block, w, block).permute(0, 2, 1, 3).reshape(-1, block, block)
    a, bl, br = aggd(b.flatten(1))
    feats = [a, (bl + br) / 2]
    for dy, dx in SHIFTS:
        pair = (b * torch.roll(b, shifts=(dy, dx), dims=(1, 2))).flatten(1)  # circshift within the block
        a, bl, br = aggd(pair)
        feats += [a, (br - bl) * torch.exp(torch.lgamma(2 / a) - torch.lgamma(1 / a)), bl, br]
    return torch.stack(feats, 1)


def niqe_features(gray: torch.Tensor) -> torch.Tensor:
    """(H, W) grey levels 0-255 -> (blocks, 36) features over the two scales."""
    h, w = (gray.shape[0] // BLOCK) * BLOCK, (gray.shape[1] // BLOCK) * BLOCK
    img = gray[:h, :w]
    scales = []
    for scale in (1, 2):
        s = mscn(img[None, None])[0, 0]
        scales.append(block_features(s, BLOCK // scale))
        img = imresize(img, 0.5)
    return torch.cat(scales, 1)


def matlab_levels(v: torch.Tensor) -> torch.Tensor:
    """uint8(v) on 0-255: clamped, halves rounded away from zero as MATLAB does."""
    return torch.floor(v.clamp(0, 255) + 0.5)


def niqe_distance(feats: torch.Tensor, mu_p: torch.Tensor, cov_p: torch.Tensor) -> torch.Tensor:
    ok = ~torch.isnan(feats).any(1)
    mu_d = torch.nanmean(feats, 0)
    cov_d = torch.cov(feats[ok].t()) if ok.sum() > 1 else torch.full_like(cov_p, math.nan)
    d = (mu_p - mu_d).unsqueeze(0)
    return torch.sqrt((d @ torch.linalg.pinv((cov_p + cov_d) / 2) @ d.t()).squeeze())


def load_pristine(path: str | Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The pristine model (mu (36,), cov (36, 36)), float64, from ``path`` or the weights manager."""
    with np.load(resolve_weights("niqe_pris_params", path), allow_pickle=False) as z:
        mu = torch.from_numpy(z["mu_pris_param"].reshape(-1)).double()
        cov = torch.from_numpy(z["cov_pris_param"]).double()
    if mu.shape != (36,) or cov.shape != (36, 36):
        raise InputError(
            f"NIQE pristine model must hold mu (36,) and cov (36, 36), got {tuple(mu.shape)}, {tuple(cov.shape)}"
        )
    return mu, cov


def niqe(
    img: torch.Tensor,
    *,
    data_range: float = 1.0,
    pristine: tuple[torch.Tensor, torch.Tensor] | None = None,
    gray: GrayConversion = "rgb2gray_uint8",
) -> torch.Tensor:
    """NIQE as the authors' ``computequality.m``; lower is better.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``,
            at least 192 x 192.
        data_range: value of white; inputs are rounded to 8-bit levels as the script's uint8 images.
        pristine: the pristine model (mu, cov) of :func:`load_pristine`; None loads the released one.
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray (float) or rgb2gray_rounded.

    Returns:
        Tensor (N,).
    """
    data_range = check_data_range(data_range)
    check_image(img, "img", data_range=data_range, min_size=MIN_SIZE)
    mu_p, cov_p = pristine if pristine is not None else load_pristine()
    levels = to_gray(img.detach().to(torch.float64), data_range=data_range, gray=gray, out_range=255)
    if img.shape[1] == 1 and gray == "rgb2gray_uint8":
        levels = matlab_levels(levels)  # the script's uint8 grey image
    mu_p, cov_p = mu_p.to(levels), cov_p.to(levels)
    out = [niqe_distance(niqe_features(g[0]), mu_p, cov_p) for g in levels]
    return torch.stack(out).to(compute_dtype(img))


@register_metric(
    MetricSpec(
        name="niqe",
        kind="nr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=False,
        color="gray",
        paper="Mittal, Soundararajan, Bovik, 'Making a Completely Blind Image Quality Analyzer', IEEE SPL 2013",
        reference_impl="authors' MATLAB computequality.m with modelparameters.mat (rgb2gray on uint8, 96x96 blocks)",
        tolerance="1e-5 relative vs pyiqa's port (fed MATLAB rgb2gray levels, its float32 alpha grid and window) "
        "without constant windows; 5e-4 with them (pyiqa keeps rounding noise there); no MATLAB golden offline",
        weights=("niqe_pris_params",),
        offline=OfflineBuild(files=(("weights", "niqe_pris_params.npz"),)),
        min_size=MIN_SIZE,
        summary="distance of multi-scale NSS block statistics to a pristine Gaussian model",
    )
)
class NIQE(NRMetric):
    """NIQE score per image, (N,); lower is better (see :func:`niqe`).

    Args:
        weights: the pristine model file (``niqe_pris_params.npz``); None takes it from the weights manager.
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray (float) or rgb2gray_rounded.
    """

    function = staticmethod(niqe)
    mu_p: torch.Tensor
    cov_p: torch.Tensor

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        weights: str | Path | None = None,
        gray: GrayConversion = "rgb2gray_uint8",
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights = weights
        self.gray = gray
        mu, cov = load_pristine(weights)
        self.register_buffer("mu_p", mu, persistent=False)
        self.register_buffer("cov_p", cov, persistent=False)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return niqe(img, data_range=self.data_range, pristine=(self.mu_p, self.cov_p), gray=self.gray)
