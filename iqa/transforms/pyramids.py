"""Steerable pyramids as matlabPyrTools builds them (used by CW-SSIM and the wavelet VIF).

- :func:`scf_bands`: one level of the complex steerable pyramid ``buildSCFpyr``, built in the
  frequency domain (CW-SSIM);
- :func:`spatial_pyramid`: the band-pass levels of the spatial pyramid ``buildSpyr`` with
  ``sp5Filters`` and ``reflect1`` edges (VIF), with its ``corrDn`` helpers.

Reference: Simoncelli and Freeman's steerable pyramid; Portilla's complex variant ``buildSCFpyr``
in matlabPyrTools (pyrtools' ``SteerablePyramidFreq(is_complex=True)`` is the Python port).
Conventions kept: MATLAB's frequency grid ((k - ctr) / (d / 2), ctr = ceil((d + 0.5) / 2), so odd
sizes are centred as MATLAB centres them), the DC radius copied from its left neighbour, raised-
cosine radial transitions (``rcosFn``, width 1, table of 259 samples) and angular masks
(2 sqrt(c) cos^order on one half-plane, table step pi/1024) looked up with ``pointOp``'s linear
interpolation and end-segment extrapolation, (-i)^order band phase, low-pass crops with
``lostart = ctr - loctr``. Only the bands of one level are returned (what CW-SSIM uses).
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F


def _rcos(width: float, position: float) -> tuple[torch.Tensor, torch.Tensor]:
    sz = 256
    x = math.pi * torch.arange(-sz - 1, 2, dtype=torch.float64) / (2 * sz)
    y = torch.cos(x) ** 2
    y[0], y[sz + 2] = y[1], y[sz + 1]
    return position + (2 * width / math.pi) * (x + math.pi / 4), y


def _point_op(v: torch.Tensor, lut: torch.Tensor, origin: float, inc: float) -> torch.Tensor:
    """Linear table lookup, extrapolating with the end segments (pyrtools/matlabPyrTools pointOp)."""
    pos = (v - origin) / inc
    idx = torch.floor(pos).clamp(0, len(lut) - 2).long()
    return lut[idx] + (pos - idx) * (lut[idx + 1] - lut[idx])


def _grid(rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
    cr, cc = math.ceil((rows + 0.5) / 2), math.ceil((cols + 0.5) / 2)
    y = (torch.arange(1, rows + 1, dtype=torch.float64) - cr) / (rows / 2)
    x = (torch.arange(1, cols + 1, dtype=torch.float64) - cc) / (cols / 2)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    angle = torch.atan2(yy, xx)
    rad = torch.sqrt(xx**2 + yy**2)
    rad[cr - 1, cc - 1] = rad[cr - 1, cc - 2]
    return torch.log2(rad), angle


@lru_cache(maxsize=8)
def band_masks(rows: int, cols: int, level: int, orientations: int) -> tuple[torch.Tensor, tuple[slice, slice]]:
    """Frequency masks (orientations, h, w), complex128, of the bands at ``level`` (1-based), and the
    crop of the centred spectrum they apply to. The product of all earlier low-pass masks is folded in.
    """
    log_rad, angle = _grid(rows, cols)
    xr, yr = _rcos(1.0, -0.5)
    yr = torch.sqrt(yr)
    yir = torch.sqrt(1.0 - yr**2)
    inc = float(xr[1] - xr[0])
    lowpass = _point_op(log_rad, yir, float(xr[0]), inc)  # lo0mask
    r0, c0, r1, c1 = 0, 0, rows, cols
    order = orientations - 1
    lut = 1024
    xc = math.pi * torch.arange(-(2 * lut + 1), lut + 2, dtype=torch.float64) / lut
    const = 2 ** (2 * order) * math.factorial(order) ** 2 / (orientations * math.factorial(2 * order))
    alfa = ((math.pi + xc) % (2 * math.pi)) - math.pi
    yc = 2 * math.sqrt(const) * torch.cos(xc) ** order * (alfa.abs() < math.pi / 2)
    for i in range(level):
        xr = xr - 1
        if i == level - 1:
            hi = _point_op(log_rad, yr, float(xr[0]), inc)
            masks = [
                (-1j) ** order
                * lowpass
                * hi
                * _point_op(angle, yc, float(xc[0]) + math.pi * b / orientations, float(xc[1] - xc[0]))
                for b in range(orientations)
            ]
            return torch.stack(masks).to(torch.complex128), (slice(r0, r1), slice(c0, c1))
        h, w = log_rad.shape
        ctr = (math.ceil((h + 0.5) / 2), math.ceil((w + 0.5) / 2))
        lod = (math.ceil((h - 0.5) / 2), math.ceil((w - 0.5) / 2))
        loc = (math.ceil((lod[0] + 0.5) / 2), math.ceil((lod[1] + 0.5) / 2))
        s0, s1 = ctr[0] - loc[0], ctr[1] - loc[1]
        log_rad, angle = log_rad[s0 : s0 + lod[0], s1 : s1 + lod[1]], angle[s0 : s0 + lod[0], s1 : s1 + lod[1]]
        lowpass = lowpass[s0 : s0 + lod[0], s1 : s1 + lod[1]]
        r0, c0, r1, c1 = r0 + s0, c0 + s1, r0 + s0 + lod[0], c0 + s1 + lod[1]
        lowpass = lowpass * _point_op(log_rad, yir, float(xr[0]), inc)
    raise AssertionError("unreachable")


def scf_bands(img: torch.Tensor, level: int, orientations: int) -> torch.Tensor:
    """Complex bands at ``level`` of ``buildSCFpyr(img, level, orientations - 1)``: (N, orientations, h, w)."""
    rows, cols = img.shape[-2:]
    masks, (rs, cs) = band_masks(rows, cols, level, orientations)
    spec = torch.fft.fftshift(torch.fft.fft2(img[:, 0].to(torch.complex128)), dim=(-2, -1))[:, rs, cs]
    bands = spec[:, None] * masks.to(img.device)[None]
    return torch.fft.ifft2(torch.fft.ifftshift(bands, dim=(-2, -1)))


# --- The spatial steerable pyramid (matlabPyrTools ``buildSpyr``), for the wavelet VIF -------------


@lru_cache(maxsize=1)
def sp5_filters() -> dict[str, torch.Tensor]:
    """MatlabPyrTools' ``sp5Filters`` taps, read from pyrtools (its MIT-licensed port); cached, do not modify.

    The six-orientation steerable filters were designed numerically by Simoncelli; they are data,
    not something to re-derive, so ``iqa`` reads them from pyrtools instead of carrying a copy.
    """
    try:
        from pyrtools.pyramids.filters import steerable_filters
    except ImportError as e:  # pragma: no cover - exercised only without pyrtools
        from iqa.errors import MissingDependencyError

        raise MissingDependencyError(
            "the wavelet VIF needs matlabPyrTools' sp5Filters, read from pyrtools: pip install 'iqa[wavelet]' (or pip install pyrtools)"
        ) from e
    f = steerable_filters("sp5_filters")
    size = int(round(f["bfilts"].shape[0] ** 0.5))
    bands = [
        torch.from_numpy(f["bfilts"][:, b].reshape(size, size).T.copy()) for b in range(f["bfilts"].shape[1])
    ]  # MATLAB reshape
    return {"hi0": torch.from_numpy(f["hi0filt"].copy()), "lo0": torch.from_numpy(f["lo0filt"].copy()),
            "lo": torch.from_numpy(f["lofilt"].copy()), "bands": torch.stack(bands)}  # fmt: skip


def corr_dn(x: torch.Tensor, filt: torch.Tensor, step: int = 1, start: int = 0) -> torch.Tensor:
    """MatlabPyrTools ``corrDn(x, filt, 'reflect1', [step step], [start+1 start+1])`` on (N, C, H, W).

    'reflect1' mirrors about the edge sample (torch's "reflect"); odd filters are centred. CPU
    float64 convolution unfolds its whole input (kh x kw copies), so images go a few at a time.
    """
    kh, kw = filt.shape[-2:]
    p = F.pad(x, (kw // 2, kw // 2, kh // 2, kh // 2), mode="reflect")
    k = filt.to(x).view(-1, 1, kh, kw)
    per_image = kh * kw * x.shape[-2] * x.shape[-1] * x.element_size() * x.shape[1]
    chunk = max(1, (256 << 20) // per_image)
    p = p[..., start:, start:]
    return torch.cat([F.conv2d(p[i : i + chunk], k, stride=step) for i in range(0, len(p), chunk)])


def box_dn(x: torch.Tensor, size: int, step: int, start: int) -> torch.Tensor:
    """``corrDn(x, ones(size), 'reflect1', [step step], [start+1 start+1])``: box sums, sampled."""
    h = size // 2
    p = F.pad(x, (h, h, h, h), mode="reflect")[..., start:, start:]
    return F.avg_pool2d(p, size, stride=step) * (size * size)


def spatial_pyramid(img: torch.Tensor, height: int, orientations: tuple[int, ...]) -> list[torch.Tensor]:
    """``buildSpyr(img, height, 'sp5Filters', 'reflect1')`` band-pass levels: for each level, the
    bands in ``orientations`` (0-based), (N, len(orientations), h, w).
    """
    f = sp5_filters()
    lo = corr_dn(img, f["lo0"])
    levels = []
    for _ in range(height):
        levels.append(corr_dn(lo, f["bands"][list(orientations)]))
        lo = corr_dn(lo, f["lo"], step=2)
    return levels
