"""SDSP saliency as embedded in the VSI reference code (``SDSP`` inside ``VSI.m``).

Reference: Zhang, Gu, Li, "SDSP: A novel saliency detection method by combining simple priors",
ICIP 2013; the copy inside Zhang, Shen, Li's ``VSI.m`` with VSI's parameters (sigmaF = 1.34,
omega0 = 0.021, sigmaD = 145, sigmaC = 0.001). Steps, all on 0-255 RGB:

- each channel resized to 256 x 256 with MATLAB ``imresize(., 'bilinear')`` (antialiased when
  shrinking);
- the code's own ``RGB2Lab``: sRGB linearisation, the D65 sRGB->XYZ matrix, but the D50 white
  (0.9642, 1, 0.8251) and epsilon 0.008856 / kappa 903.3;
- frequency prior: a log-Gabor band-pass (zero outside radius 0.5 and at DC) applied to L, a, b
  by FFT; SF = sqrt(L'^2 + a'^2 + b'^2);
- location prior: exp(-||p - c||^2 / sigmaD^2) with 1-based pixel coordinates and c = (128, 128);
- colour prior: 1 - exp(-(a_n^2 + b_n^2) / sigmaC^2) with a, b min-max normalised per image;
- VS = SF * SD * SC, resized back to the input size (bilinear) and min-max normalised
  (``mat2gray``).
"""

from __future__ import annotations

from functools import lru_cache

import torch

from iqa.transforms.imresize import imresize

SIGMA_F, OMEGA0, SIGMA_D, SIGMA_C = 1.34, 0.021, 145.0, 0.001
SIZE = 256
_RGB2XYZ = ((0.4124564, 0.3575761, 0.1804375), (0.2126729, 0.7151522, 0.0721750), (0.0193339, 0.1191920, 0.9503041))
_WHITE_D50 = (0.9642, 1.0, 0.8251)


def sdsp_lab(rgb255: torch.Tensor) -> torch.Tensor:
    """The VSI code's RGB2Lab on (N, 3, H, W) values 0-255."""
    c = rgb255 / 255
    lin = torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055).clamp_min(0) ** 2.4)
    m = torch.tensor(_RGB2XYZ, dtype=c.dtype, device=c.device)
    white = torch.tensor(_WHITE_D50, dtype=c.dtype, device=c.device).view(1, 3, 1, 1)
    xyz = torch.einsum("kc,nchw->nkhw", m, lin) / white
    f = torch.where(xyz > 0.008856, xyz.clamp_min(0.008856) ** (1 / 3), (903.3 * xyz + 16) / 116)
    fx, fy, fz = f[:, :1], f[:, 1:2], f[:, 2:]
    return torch.cat([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], 1)


@lru_cache(maxsize=2)
def _priors_f64(rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The log-Gabor transfer function (DC at the corner) and the centre-bias map."""

    def axis(n: int) -> torch.Tensor:
        return (torch.arange(1, n + 1, dtype=torch.float64) - (n // 2 + 1)) / (n - n % 2)

    u2, u1 = torch.meshgrid(axis(rows), axis(cols), indexing="ij")
    outside = u1**2 + u2**2 > 0.25
    u1, u2 = u1.masked_fill(outside, 0), u2.masked_fill(outside, 0)
    radius = torch.fft.ifftshift(torch.sqrt(u1**2 + u2**2))
    radius[0, 0] = 1.0
    lg = torch.exp(-(torch.log(radius / OMEGA0) ** 2) / (2 * SIGMA_F**2))  # radius 0 (outside) -> 0
    lg[0, 0] = 0.0
    r, c = torch.meshgrid(
        torch.arange(1, rows + 1, dtype=torch.float64), torch.arange(1, cols + 1, dtype=torch.float64), indexing="ij"
    )
    sd = torch.exp(-((r - rows / 2) ** 2 + (c - cols / 2) ** 2) / SIGMA_D**2)
    return lg, sd


def _minmax(x: torch.Tensor) -> torch.Tensor:
    lo = x.amin((-2, -1), keepdim=True)
    hi = x.amax((-2, -1), keepdim=True)
    return (x - lo) / (hi - lo)


def sdsp(rgb255: torch.Tensor) -> torch.Tensor:
    """Saliency maps in [0, 1], (N, 1, H, W), of RGB images on 0-255."""
    h, w = rgb255.shape[-2:]
    small = imresize(rgb255, size=(SIZE, SIZE), method="bilinear")
    lab = sdsp_lab(small)
    lg, sd = (t.to(device=lab.device, dtype=lab.dtype) for t in _priors_f64(SIZE, SIZE))
    # The log-Gabor transfer function is real and even, so the real part of ifft2(fft2(.) * LG)
    # is the inverse real FFT of the half spectrum: the same numbers for half the work.
    band = torch.fft.irfft2(torch.fft.rfft2(lab) * lg[:, : SIZE // 2 + 1], s=(SIZE, SIZE))
    sf = torch.sqrt((band**2).sum(1, keepdim=True))
    ab = _minmax(lab[:, 1:])
    sc = 1 - torch.exp(-(ab**2).sum(1, keepdim=True) / SIGMA_C**2)
    vs = imresize(sf * sd * sc, size=(h, w), method="bilinear")
    return _minmax(vs)
