"""NLPD: normalised Laplacian pyramid distance.

Paper: Laparra, Balle, Berardino, Simoncelli, "Perceptual image quality assessment using a
normalized Laplacian pyramid", IS&T Electronic Imaging 2016. Reference implementation: the
authors' ``NLP_dist.m`` (www.cns.nyu.edu/~lcv/NLPyr/) with its default parameters (learned on
McGill), followed exactly on grey images in [0, 1]: RGB through MATLAB ``rgb2gray`` on 8-bit data
(exact weights, rounded levels, then / 255; ``gray=`` names the other conversions), grey as is:

- six-level Laplacian pyramid with the Burt-Adelson 5-tap kernel [.05 .25 .4 .25 .05]:
  ``imfilter(J, f'f, 'symmetric')`` then every second sample; the expansion pads the coarse
  image by one replicated pixel, places 4x its values on the even grid, ``imfilter`` with zero
  padding and crops (one row/column less on odd sizes);
- each band divided by sigma_k + ``conv2(|band|, F_k, 'same')`` (a true convolution: F_k is
  flipped) with the published sigmas (.0248 .0185 .0179 .0191 .0220 .2782) and 5x5 filters;
- distance = mean over the six bands of the RMS difference of the normalised bands.

Lower is better; 0 for identical images. Differentiable.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.metrics.base import DataRange, FRMetric, compute_dtype
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.matlab import GrayConversion, symmetric_pad, to_gray

MIN_SIZE = 32
LEVELS = 6
BURT = (0.05, 0.25, 0.4, 0.25, 0.05)
SIGMAS = (0.0248, 0.0185, 0.0179, 0.0191, 0.0220, 0.2782)
# Non-zero taps of NLP_dist.m's divisive-normalisation filters: (row, col) -> weight in the 5x5 grid.
DN_TAPS = (
    {(1, 2): 0.1011, (2, 1): 0.1493, (2, 3): 0.1460, (2, 4): 0.0072, (3, 2): 0.1015},
    {(1, 2): 0.0757, (2, 1): 0.1986, (2, 3): 0.1846, (3, 2): 0.0837},
    {(1, 2): 0.0477, (2, 1): 0.2138, (2, 3): 0.2243, (3, 2): 0.0467},
    {(2, 1): 0.2503, (2, 3): 0.2616},
    {(2, 1): 0.2598, (2, 3): 0.2552},
    {(2, 1): 0.2215, (2, 3): 0.0717},
)


def _kernel(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    f = torch.tensor(BURT, dtype=dtype, device=device)
    return torch.outer(f, f).view(1, 1, 5, 5)


def _dn_filters(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    k = torch.zeros(LEVELS, 1, 5, 5, dtype=dtype, device=device)
    for level, taps in enumerate(DN_TAPS):
        for (r, c), w in taps.items():
            k[level, 0, r, c] = w
    return k.flip(-2, -1)  # conv2 convolves: correlate with the flipped filter


def laplacian_pyramid(img: torch.Tensor) -> list[torch.Tensor]:
    """NLP_dist.m's laplacian_pyramid_s: LEVELS bands of (N, 1, H, W) images."""
    k = _kernel(img.dtype, img.device)
    bands, j = [], img
    for _ in range(LEVELS - 1):
        low = F.conv2d(symmetric_pad(j, 2, 2, 2, 2), k, stride=2)  # only the kept samples
        bands.append(j - _expand(low, j.shape[-2:], k))
        j = low
    bands.append(j)
    return bands


def _expand(low: torch.Tensor, size: torch.Size, k: torch.Tensor) -> torch.Tensor:
    """NLP_dist.m's upsample(I, odd, filter) back to ``size``.

    Pad by one replicated pixel, put 4x the values on the even grid, ``imfilter`` (zero padding)
    and crop: the zero insertion plus filtering is one stride-2 transposed convolution, whose
    full output starts 2 samples before MATLAB's 'same' output.
    """
    p = F.pad(low, (1, 1, 1, 1), mode="replicate")
    h, w = p.shape[-2:]
    up = F.conv_transpose2d(4 * p, k, stride=2)
    odd_h, odd_w = 2 * low.shape[-2] - size[0], 2 * low.shape[-1] - size[1]
    return up[..., 4 : 2 * h - odd_h, 4 : 2 * w - odd_w]


def normalised_bands(img: torch.Tensor) -> list[torch.Tensor]:
    dn = _dn_filters(img.dtype, img.device)
    return [b / (SIGMAS[i] + F.conv2d(b.abs(), dn[i : i + 1], padding=2)) for i, b in enumerate(laplacian_pyramid(img))]


def nlpd(
    img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, gray: GrayConversion = "rgb2gray_uint8"
) -> torch.Tensor:
    """NLPD as the authors' ``NLP_dist.m``; lower is better, 0 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to [0, 1].
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray (float) or rgb2gray_rounded.

    Returns:
        Tensor (N,).
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    dt = compute_dtype(img)
    x = to_gray(img.to(dt), data_range=data_range, gray=gray, out_range=1.0)
    y = to_gray(ref.to(dt), data_range=data_range, gray=gray, out_range=1.0)
    n = len(x)
    bands = normalised_bands(torch.cat([y, x]))
    rms = [torch.sqrt(((b[:n] - b[n:]) ** 2).flatten(1).mean(1)) for b in bands]
    return torch.stack(rms).mean(0)


@register_metric(
    MetricSpec(
        name="nlpd",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="gray",
        paper="Laparra, Balle, Berardino, Simoncelli, 'Perceptual image quality assessment using a normalized Laplacian pyramid', IS&T Electronic Imaging 2016",
        reference_impl="authors' NLP_dist.m (6-level Burt-Adelson pyramid, divisive normalisation learned on McGill)",
        tolerance="1e-10 vs a float64 NumPy transcription of NLP_dist.m fed rgb2gray(uint8) / 255 (even and odd sizes)",
        min_size=MIN_SIZE,
        summary="RMS distance of divisively normalised Laplacian-pyramid bands",
    )
)
class NLPD(FRMetric):
    """NLPD per image pair, (N,); 0 for identical images."""

    function = staticmethod(nlpd)

    def __init__(self, *, data_range: DataRange = 1.0, gray: GrayConversion = "rgb2gray_uint8") -> None:
        super().__init__(data_range=data_range)
        self.gray = gray

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return nlpd(img, ref, data_range=self.data_range, gray=self.gray)
