"""A differentiable JPEG proxy: baseline JPEG's lossy steps with straight-through rounding.

Follows what libjpeg (and so Pillow) does for a baseline, 4:2:0, quality-q encode and decode:

- JFIF YCbCr (BT.601 full range) on 0-255; chroma halved by 2x2 means (libjpeg's h2v2
  downsampling, without its alternating rounding bias);
- 8x8 blocks (edges replicated to whole 16x16 MCUs, as libjpeg pads), level shift by 128,
  orthonormal DCT-II;
- the Annex K luminance/chrominance tables scaled by libjpeg's ``jpeg_quality_scaling``
  (q < 50: 5000 / q, else 200 - 2q percent; entries floor((t s + 50) / 100) clipped to [1, 255]);
- rounding of the quantised coefficients, of the decoded samples and of the final RGB values
  by a straight-through estimator (forward: round; backward: identity), or by the cubic
  approximation round(x) + (x - round(x))^3 (Shin & Song 2017) with ``rounding="cubic"``, or
  by additive uniform noise x + U(-1/2, 1/2) (Balle et al. 2017, "End-to-end optimized image
  compression") with ``rounding="noise"``, a training-time stand-in whose expectation is smooth,
  or by exact rounding whose gradient is cut where a coefficient quantises to zero
  (``rounding="deadzone"``);
- decoding: dequantise, inverse DCT, chroma doubled by libjpeg's "fancy" triangle upsampling
  (3/4-1/4 weights, i.e. bilinear with half-pixel centres), RGB clipped to [0, 255].

Not modelled: entropy coding (lossless), libjpeg's integer DCT and fixed-point colour
conversion. ``tests/transforms/test_diffjpeg.py`` bounds the gap to Pillow's real codec per
quality (PSNR between the proxy's and Pillow's decodes).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache

import torch
import torch.nn.functional as F

from iqa.errors import InputError
from iqa.transforms.colorspaces import rgb_to_ycbcr, ycbcr_to_rgb

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), in row-major order.
_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99, *([99] * 32),
)  # fmt: skip


def quant_tables(quality: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Libjpeg's (luma, chroma) 8x8 tables for ``quality`` in 1..100, float64."""
    if not 1 <= int(quality) <= 100:
        raise InputError(f"JPEG quality must be in 1..100, got {quality}")
    q = int(quality)
    scale = 5000 // q if q < 50 else 200 - 2 * q

    def scaled(base: tuple[int, ...]) -> torch.Tensor:
        t = torch.tensor([(b * scale + 50) // 100 for b in base], dtype=torch.float64)
        return t.clamp(1, 255).view(8, 8)

    return scaled(_LUMA), scaled(_CHROMA)


@lru_cache(maxsize=1)
def _dct_matrix() -> torch.Tensor:
    k = torch.arange(8, dtype=torch.float64)
    d = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / 16) * math.sqrt(2 / 8)
    d[0] /= math.sqrt(2)
    return d  # orthonormal DCT-II: coefficients = D @ block @ D.T


def ste_round(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward, identity backward."""
    return x + (torch.round(x) - x).detach()


def cubic_round(x: torch.Tensor) -> torch.Tensor:
    """Shin & Song's differentiable rounding: round(x) + (x - round(x))^3."""
    r = torch.round(x).detach()
    return r + (x - r) ** 3


def noise_round(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """X + U(-1/2, 1/2): quantisation error modelled as independent uniform noise."""
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device="cpu").to(x.device)
    return x + (u - 0.5)


def deadzone_round(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward; identity backward except where x rounds to 0, where it is 0.

    Small changes of a coefficient inside the dead zone (|x| < 1/2) never reach the decoder, so
    unlike plain STE this gradient does not ask for detail that quantisation erases.
    """
    r = torch.round(x)
    keep = (r != 0).to(x.dtype)
    return r.detach() + (x - x.detach()) * keep


def threshold_round(x: torch.Tensor) -> torch.Tensor:
    """round(x) forward; backward 3 (x - round(x))^2, the cubic surrogate's slope.

    The slope is largest next to a decision threshold (3/4 at |x - round(x)| = 1/2) and zero at a
    level: only coefficients that a small change can move to another level carry gradient.
    """
    r = torch.round(x).detach()
    slope = 3 * (x.detach() - r) ** 2
    return r + (x - x.detach()) * slope


Rounder = Callable[[torch.Tensor], torch.Tensor]
_ROUNDERS: dict[str, Rounder] = {
    "ste": ste_round,
    "threshold": threshold_round,
    "cubic": cubic_round,
    "noise": noise_round,
    "deadzone": deadzone_round,
}


def _blocks(x: torch.Tensor) -> torch.Tensor:
    """(N, H, W) with H, W multiples of 8 -> (N, H/8, W/8, 8, 8)."""
    n, h, w = x.shape
    return x.view(n, h // 8, 8, w // 8, 8).transpose(2, 3)


def _unblocks(b: torch.Tensor) -> torch.Tensor:
    n, bh, bw = b.shape[:3]
    return b.transpose(2, 3).reshape(n, bh * 8, bw * 8)


def _code_plane(p: torch.Tensor, table: torch.Tensor, rnd: Rounder) -> torch.Tensor:
    """Level shift, DCT, quantise (rounded), dequantise, inverse DCT, +128, for one plane (N, H, W)."""
    d = _dct_matrix().to(p)
    t = table.to(p)
    coeff = d @ _blocks(p - 128) @ d.t()
    coeff = rnd(coeff / t) * t
    return _unblocks(d.t() @ coeff @ d) + 128


def diff_jpeg(
    x: torch.Tensor,
    quality: int,
    *,
    rounding: str = "ste",
    round_output: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Approximate JPEG round trip of (N, 3, H, W) RGB in [0, 1]; differentiable in ``x``.

    Returns the decoded image in [0, 1], same shape. ``rounding`` is "ste" (straight-through),
    "deadzone", "cubic" or "noise" (drawn from ``generator``); ``round_output`` rounds the decoded RGB to
    8-bit levels as a real decode does.
    """
    if x.dim() != 4 or x.shape[1] != 3:
        raise InputError(f"diff_jpeg needs (N, 3, H, W) RGB, got shape {tuple(x.shape)}")
    if rounding not in _ROUNDERS:
        raise InputError(f"rounding must be one of {sorted(_ROUNDERS)}, got {rounding!r}")
    rnd: Rounder = _ROUNDERS[rounding]
    if rounding == "noise":
        rnd = lambda v: noise_round(v, generator)  # noqa: E731
    n, _, h, w = x.shape
    ph, pw = (-h) % 16, (-w) % 16
    xp = F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x  # whole MCUs, edges replicated
    ycc = rgb_to_ycbcr(xp) * 255
    luma_t, chroma_t = quant_tables(quality)
    y = _code_plane(ycc[:, 0], luma_t, rnd)
    chroma = F.avg_pool2d(ycc[:, 1:], 2)  # h2v2 downsampling
    c = torch.stack([_code_plane(chroma[:, i], chroma_t, rnd) for i in range(2)], 1)
    c = F.interpolate(c, scale_factor=2, mode="bilinear", align_corners=False)  # libjpeg "fancy" upsampling
    rgb = ycbcr_to_rgb(torch.cat([y[:, None], c], 1) / 255) * 255
    rgb = rgb.clamp(0, 255)
    if round_output:
        rgb = rnd(rgb).clamp(0, 255)  # the clamp only acts for "noise"
    return (rgb / 255)[..., :h, :w]
