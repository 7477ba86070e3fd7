"""CW-SSIM: complex wavelet structural similarity.

Paper: Sampat, Wang, Gupta, Bovik, Markey, "Complex Wavelet Structural Similarity: A New Image
Similarity Index", IEEE TIP 2009. Reference implementation: the authors' ``cwssim_index.m``
(MATLAB File Exchange 43017) with matlabPyrTools' ``buildSCFpyr``, followed exactly on grey
levels 0-255, defaults as the authors' example call ``cwssim_index(img1, img2, 6, 16, 0, 0)``.

Protocols:

- published benchmark tables are computed with 4 levels and 8 orientations
  (``cwssim_index(img1, img2, 4, 8, 0, 0)``; pyiqa's default too): ``level=4, orientations=8``
  (minimum side 56). Only the pyramid depth and band count differ, not the direction, range or
  scale, so this is an option value rather than a registered variant;
- RGB input is converted by the ``gray`` option, by default as the script saw images read from
  8-bit files: MATLAB ``rgb2gray`` on ``uint8`` data (exact weights, result rounded to an integer
  level; straight-through gradient); ``"rgb2gray_rounded"`` is iqa 0.1's unrounded
  0.2989/0.5870/0.1140 conversion (see :func:`iqa.transforms.matlab.to_gray`).

The computation:

- complex steerable pyramid with ``level`` levels and ``orientations`` bands; only the bands of the
  coarsest level are compared (after removing a guard band of ``guardb / 2^(level-1)`` samples);
- per band, c = b1 conj(b2) and v = |b1|^2 + |b2|^2 averaged over a 7x7 box ('valid');
  map = (2 |mean c| + K) / (mean v + K);
- each band's map is pooled with ``fspecial('gaussian', size(map), s / 4)`` (s = the band's row
  count; taps below eps x max dropped, normalised) and the bands are averaged.

Higher is better; 1 for identical images. Differentiable. Insensitive to small translations by
design. Minimum side 7 x 2^(level - 1) (224 with the defaults).
"""

from __future__ import annotations

from typing import Annotated

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.errors import InputError
from iqa.metrics.base import DataRange, FRMetric
from iqa.options import Range
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.matlab import GrayConversion, fspecial_gaussian, to_gray
from iqa.transforms.pyramids import scf_bands

WIN = 7


def cw_ssim(
    img: torch.Tensor,
    ref: torch.Tensor,
    *,
    data_range: float = 1.0,
    level: int = 6,
    orientations: int = 16,
    guardb: int = 0,
    k: float = 0.0,
    gray: GrayConversion = "rgb2gray_uint8",
) -> torch.Tensor:
    """CW-SSIM as the authors' ``cwssim_index.m``; higher is better, 1 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 grey levels.
        level: pyramid levels, only the coarsest compared (6: the authors' example call; 4: published tables).
        orientations: oriented bands per level (16: the authors' example call; 8: published tables).
        guardb: guard band (pixels at full resolution) removed from each side of the compared bands.
        k: stabilising constant added to numerator and denominator.
        gray: RGB to grey: "rgb2gray_uint8" (MATLAB on 8-bit data), "rgb2gray" or "rgb2gray_rounded" (float).

    Returns:
        Tensor (N,) in [0, 1].
    """
    data_range = check_data_range(data_range)
    if level < 1 or orientations < 1 or guardb < 0 or k < 0:
        raise InputError(
            f"cw_ssim: need level >= 1, orientations >= 1, guardb >= 0, k >= 0; got {level}, {orientations}, {guardb}, {k}"
        )
    img, ref = check_pair(img, ref, data_range=data_range, min_size=WIN * 2 ** (level - 1))
    dt = torch.float64  # FFT masks and complex products in double precision
    n = len(img)
    bands = scf_bands(
        to_gray(torch.cat([ref, img]).to(dt), data_range=data_range, gray=gray, out_range=255),
        level,
        orientations,
    )
    gb = guardb // 2 ** (level - 1)
    if gb:
        bands = bands[..., gb:-gb, gb:-gb]
    b1, b2 = bands[:n], bands[n:]
    corr = b1 * b2.conj()
    varr = b1.abs() ** 2 + b2.abs() ** 2
    box = torch.full((1, 1, WIN, WIN), 1.0 / WIN**2, dtype=dt, device=img.device)

    def avg(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(t.flatten(0, 1)[:, None], box).view(
            n, orientations, t.shape[-2] - WIN + 1, t.shape[-1] - WIN + 1
        )

    corr_band = torch.complex(avg(corr.real), avg(corr.imag))
    cmap = (2 * corr_band.abs() + k) / (avg(varr) + k)
    rows = bands.shape[-2] + 2 * gb  # s = the band's size before the guard band is removed
    w = fspecial_gaussian(cmap.shape[-2], cmap.shape[-1], rows / 4, dt).to(img.device)
    out = (cmap * w).sum((-2, -1)).mean(1)
    return out.to(torch.float64 if img.dtype == torch.float64 else torch.float32)


@register_metric(
    MetricSpec(
        name="cw_ssim",
        kind="fr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="gray",
        paper="Sampat, Wang, Gupta, Bovik, Markey, 'Complex Wavelet Structural Similarity: A New Image Similarity Index', IEEE TIP 2009",
        reference_impl="authors' cwssim_index.m (File Exchange 43017) with matlabPyrTools buildSCFpyr; defaults level 6, 16 orientations, guardb 0, K 0 (published tables: level=4, orientations=8)",
        tolerance="1e-10 vs a float64 NumPy transcription of cwssim_index.m on pyrtools' buildSCFpyr (even sizes; pyrtools centres odd grids differently from MATLAB)",
        min_size=224,
        summary="SSIM of complex steerable-pyramid coefficients (tolerant to small shifts)",
    )
)
class CWSSIM(FRMetric):
    """CW-SSIM per image pair, (N,); 1 for identical images (see :func:`cw_ssim`)."""

    function = staticmethod(cw_ssim)

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        level: Annotated[int, Range(1)] = 6,
        orientations: Annotated[int, Range(1)] = 16,
        guardb: Annotated[int, Range(0)] = 0,
        k: Annotated[float, Range(0.0)] = 0.0,
        gray: GrayConversion = "rgb2gray_uint8",
    ) -> None:
        super().__init__(data_range=data_range)
        self.level = level
        self.orientations = orientations
        self.guardb = guardb
        self.k = k
        self.gray = gray

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return cw_ssim(
            img,
            ref,
            data_range=self.data_range,
            level=self.level,
            orientations=self.orientations,
            guardb=self.guardb,
            k=self.k,
            gray=self.gray,
        )
