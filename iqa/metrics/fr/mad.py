"""MAD: most apparent distortion.

Paper: Larson, Chandler, "Most apparent distortion: full-reference image quality assessment and
the role of strategy", Journal of Electronic Imaging 2010. Reference implementation: the authors'
``MAD_index_april_2010.m`` with its mex files ``ical_std.c`` and ``ical_stat.c`` (block size 16),
followed exactly on 8-bit grey images (by default RGB through MATLAB ``rgb2gray`` on uint8: exact
weights, rounded; grey input rounded to 8-bit levels; ``gray=`` names the float conversions):

- detection ("hi"): luminance L = 0.02874 I^(2.2/3) read from the script's table as
  ``LUT(img + 1)``: on uint8 images the sum saturates (255 + 1 is 255), so white takes level 254's
  luminance (the float conversions have no table: the power of the grey level itself, as the
  script's later releases compute for non-integer images); CSF filtering in the frequency domain
  (``make_csf(M, N, 32)``: 2.6 (0.0192 + 0.114 f) exp(-(0.114 f)^1.1), 0.9809 below f = 7.8909,
  radial frequency scaled by the image width for both axes and by an oblique-effect factor
  (0.15 cos 4 theta + 0.85)); in 16x16 blocks every 4 pixels: std of the error (N - 1), mean of the
  reference, and the reference's "modified" std (the smallest 8x8 sub-block std among the block's
  four neighbours at offsets 0 and 5 that exist); log contrasts C_ref = ln(sigma_mod / mu),
  C_err = ln(sigma_err / mu) (-inf where mu < 0.5); visibility mask C_err - C_ref where
  C_ref > -5 and C_err > C_ref, C_err + 5 where C_ref <= -5 and C_err > -5, else 0; times the
  local MSE of the grey levels (16x16 box, symmetric padding); RMS over the map without a
  17-pixel border;
- appearance ("lo"): log-Gabor bank (5 scales, wavelengths 3, 9, 27, 81, 243; 4 orientations;
  sigmaOnf 0.55, dThetaOnSigma 1.5) by FFT; per subband magnitude, 16x16-block std (N - 1),
  skewness and kurtosis (population moments) every 4 pixels; map sum of scale-weighted
  (0.5, 0.75, 1, 5, 6, normalised) |d std| + 2 |d skew| + |d kurt|; RMS without the border;
- MAD = lo^(1 - a) hi^a with a = 1 / (1 + b1 hi^b2), b1 = exp(-2.55 / 3.35), b2 = 1 / (ln 10 x 3.35).

Lower is better; 0 for identical images. Not differentiable (8-bit rounding, block minima).
Block statistics outside the last whole block stay 0, as the mex files leave them.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from iqa.checks import check_data_range, check_pair
from iqa.metrics.base import DataRange, FRMetric
from iqa.registry import MetricSpec, register_metric
from iqa.transforms.matlab import GrayConversion, matlab_round, symmetric_pad, to_gray

MIN_SIZE = 48
BSIZE = 16
SCALE_WEIGHTS = (0.5, 0.75, 1.0, 5.0, 6.0)
THRESH1, THRESH2 = 2.55, 3.35


def _cell_moments(x: torch.Tensor, order: int) -> list[torch.Tensor]:
    """Mean and central power sums (orders 2..``order``) of the non-overlapping 4x4 cells, (N, H/4, W/4)."""
    n, h, w = x.shape
    c = x[:, : h // 4 * 4, : w // 4 * 4].reshape(n, h // 4, 4, w // 4, 4)
    mu = c.mean((2, 4), keepdim=True)
    d = c - mu
    return [mu[:, :, 0, :, 0]] + [(d**k).sum((2, 4)) for k in range(2, order + 1)]


def _block_moments(cells: list[torch.Tensor], span: int) -> list[torch.Tensor]:
    """Mean and central power sums of (4 span)^2 blocks every 4 pixels, from their span x span cells.

    Exact re-centring of each cell's sums on the block mean (x - mu_b = (x - mu_c) + delta), so
    no E[x^k] - mu^k cancellation: 16x less data than unfolding every block's pixels.
    """
    n = len(cells[0])

    def windows(t: torch.Tensor) -> torch.Tensor:  # (N, span*span, bh, bw)
        bh, bw = t.shape[-2] - span + 1, t.shape[-1] - span + 1
        return F.unfold(t[:, None], span).view(n, span * span, bh, bw)

    mu_c = windows(cells[0])
    mu_b = mu_c.mean(1)
    delta = mu_c - mu_b[:, None]
    m = 16.0  # samples per cell
    out = [mu_b]
    sums = [windows(t) for t in cells[1:]]
    if sums:
        m2 = sums[0]
        out.append((m2 + m * delta**2).sum(1))
    if len(sums) > 1:
        m3 = sums[1]
        out.append((m3 + 3 * delta * m2 + m * delta**3).sum(1))
    if len(sums) > 2:
        m4 = sums[2]
        out.append((m4 + 4 * delta * m3 + 6 * delta**2 * m2 + m * delta**4).sum(1))
    return out


def _fill(stat: torch.Tensor, h: int, w: int) -> torch.Tensor:
    """Write each block's value into its 4x4 cell; cells past the last block stay 0."""
    up = stat.repeat_interleave(4, -2).repeat_interleave(4, -1)
    return F.pad(up, (0, w - up.shape[-1], 0, h - up.shape[-2]))


def ical_std(err: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ical_std.c: std of ``err`` (16x16), modified std of ``ref`` (min of 8x8 stds), mean of ``ref``."""
    h, w = err.shape[-2:]
    std_err = torch.sqrt(_block_moments(_cell_moments(err, 2), 4)[1] / 255)
    ref_cells = _cell_moments(ref, 2)
    mean_ref = _block_moments(ref_cells[:1], 4)[0]
    sub = torch.sqrt(_block_moments(ref_cells, 2)[1] / 63)[
        ..., : std_err.shape[-2], : std_err.shape[-1]
    ]  # 8x8 at the same starts
    # Minimum over the sub-blocks at offsets 0 and 5 in each direction: offset 5 falls in the next
    # block's cell, so these are the block itself and its right, lower and diagonal neighbours. The
    # C loop takes a neighbour only if its offset-5 position is < n - 15, which excludes a last block
    # that sits exactly at n - 16.
    p = F.pad(sub, (0, 1, 0, 1), value=math.inf)
    ok_r = (4 * torch.arange(p.shape[-2], device=p.device) + 1 < h - 15).view(-1, 1)
    ok_c = (4 * torch.arange(p.shape[-1], device=p.device) + 1 < w - 15).view(1, -1)
    down = p.masked_fill(~ok_r, math.inf)[..., 1:, :-1]
    right = p.masked_fill(~ok_c, math.inf)[..., :-1, 1:]
    diag = p.masked_fill(~(ok_r & ok_c), math.inf)[..., 1:, 1:]
    mod = torch.minimum(torch.minimum(p[..., :-1, :-1], down), torch.minimum(right, diag))
    return _fill(std_err, h, w), _fill(mod, h, w), _fill(mean_ref, h, w)


def ical_stat(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """ical_stat.c: 16x16-block std (N - 1), skewness and kurtosis (population), 4x4 filled."""
    h, w = x.shape[-2:]
    _, s2, s3, s4 = _block_moments(_cell_moments(x, 4), 4)
    m2, m3, m4 = s2 / 256, s3 / 256, s4 / 256
    pop = torch.sqrt(m2)
    ok = pop != 0
    skw = torch.where(ok, m3 / pop.clamp_min(1e-300) ** 3, torch.zeros_like(m3))
    krt = torch.where(ok, m4 / pop.clamp_min(1e-300) ** 4, torch.zeros_like(m4))
    return _fill(torch.sqrt(s2 / 255), h, w), _fill(skw, h, w), _fill(krt, h, w)


def make_csf(m: int, n: int, nfreq: float = 32.0) -> torch.Tensor:
    """``make_csf(M, N, 32)'``: (M, N), centred (DC in the middle)."""
    xp = torch.arange(m, dtype=torch.float64) - m / 2 + 0.5
    yp = torch.arange(n, dtype=torch.float64) - n / 2 + 0.5
    plane = torch.complex(xp[:, None].expand(m, n), yp[None, :].expand(m, n)) / n * 2 * nfreq
    rad = plane.abs()
    s = (1 - 0.7) / 2 * torch.cos(4 * torch.angle(plane)) + (1 + 0.7) / 2
    rad = rad / s
    csf = 2.6 * (0.0192 + 0.114 * rad) * torch.exp(-((0.114 * rad) ** 1.1))
    return torch.where(rad < 7.8909, torch.full_like(csf, 0.9809), csf)


def luminance(x: torch.Tensor, uint8: bool) -> torch.Tensor:
    """0.02874 x^(2.2/3) of grey levels; ``uint8``: as ``LUT(x + 1)``, whose uint8 sum saturates at 255.

    The table holds levels 0..255 at indices 1..256; ``x + 1`` on a uint8 image never exceeds 255,
    so level 255 reads index 255, level 254's entry, and white is one level darker than its value.
    """
    levels = x.clamp_max(254) if uint8 else x
    return 0.02874 * levels ** (2.2 / 3)


def hi_index(ref: torch.Tensor, dst: torch.Tensor, uint8: bool = True) -> torch.Tensor:
    """Detection-based index of (N, H, W) grey levels (float64); ``uint8``: integer levels of uint8 images."""
    h, w = ref.shape[-2:]
    csf = make_csf(h, w).to(ref.device)

    def lum(x: torch.Tensor) -> torch.Tensor:
        spec = torch.fft.fftshift(torch.fft.fft2(luminance(x, uint8)), dim=(-2, -1)) * csf
        return torch.fft.ifft2(torch.fft.ifftshift(spec, dim=(-2, -1))).real

    r, d = lum(ref), lum(dst)
    std_err, std_mod, mean_ref = ical_std(d - r, r)
    c_ref = torch.log(std_mod / mean_ref)
    c_err = torch.log(std_err / mean_ref).masked_fill(mean_ref < 0.5, -math.inf)
    msk = torch.zeros_like(c_err)
    idx1 = (c_ref > -5) & (c_err > c_ref)
    idx2 = (c_ref <= -5) & (c_err > -5)
    msk = torch.where(idx1, c_err - c_ref, msk)
    msk = torch.where(idx2, c_err + 5, msk)
    err2 = (ref - dst) ** 2
    # imfilter(., ones(16)/256, 'symmetric', 'same', 'conv'): the window covers i-7 .. i+8.
    lmse = F.avg_pool2d(symmetric_pad(err2[:, None], 7, 8, 7, 8), 16, stride=1)[:, 0]
    return _rms_core(msk * lmse)


def _rms_core(mp: torch.Tensor) -> torch.Tensor:
    core = mp[..., BSIZE : mp.shape[-2] - BSIZE - 1, BSIZE : mp.shape[-1] - BSIZE - 1]
    return torch.sqrt((core**2).flatten(1).mean(1))


def log_gabor_bank(h: int, w: int) -> torch.Tensor:
    """Gaborconvolve's 20 filters (scale-major), (5, 4, H, W), DC at the corner."""
    x = (torch.arange(w, dtype=torch.float64) - w / 2) / (w / 2)
    y = (torch.arange(h, dtype=torch.float64) - h / 2) / (h / 2)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    radius = torch.sqrt(xx**2 + yy**2)
    cr, cc = matlab_round(h / 2 + 1) - 1, matlab_round(w / 2 + 1) - 1
    radius[cr, cc] = 1.0
    theta = torch.atan2(-yy, xx)
    sin_t, cos_t = torch.sin(theta), torch.cos(theta)
    theta_sigma = math.pi / 4 / 1.5
    bank = torch.empty(5, 4, h, w, dtype=torch.float64)
    for o in range(4):
        angl = o * math.pi / 4
        ds = sin_t * math.cos(angl) - cos_t * math.sin(angl)
        dc = cos_t * math.cos(angl) + sin_t * math.sin(angl)
        spread = torch.exp(-(torch.atan2(ds, dc).abs() ** 2) / (2 * theta_sigma**2))
        for s in range(5):
            rfo = (1.0 / (3.0 * 3.0**s)) / 0.5
            lg = torch.exp(-(torch.log(radius / rfo) ** 2) / (2 * math.log(0.55) ** 2))
            lg[cr, cc] = 0.0
            bank[s, o] = torch.fft.fftshift(lg * spread)
    return bank


def lo_index(ref: torch.Tensor, dst: torch.Tensor) -> torch.Tensor:
    """Appearance-based index of (N, H, W) grey images (float64)."""
    h, w = ref.shape[-2:]
    bank = log_gabor_bank(h, w).to(ref.device)
    fr, fd = torch.fft.fft2(ref), torch.fft.fft2(dst)
    weights = torch.tensor(SCALE_WEIGHTS, dtype=ref.dtype) / sum(SCALE_WEIGHTS)
    mp = torch.zeros_like(ref)
    for s in range(5):
        for o in range(4):
            a = ical_stat(torch.fft.ifft2(fr * bank[s, o]).abs())
            b = ical_stat(torch.fft.ifft2(fd * bank[s, o]).abs())
            mp = mp + weights[s] * ((a[0] - b[0]).abs() + 2 * (a[1] - b[1]).abs() + (a[2] - b[2]).abs())
    return _rms_core(mp)


def combine(hi: torch.Tensor, lo: torch.Tensor) -> torch.Tensor:
    b1 = math.exp(-THRESH1 / THRESH2)
    b2 = 1 / (math.log(10) * THRESH2)
    sig = 1 / (1 + b1 * hi**b2)
    return lo ** (1 - sig) * hi**sig


def mad(
    img: torch.Tensor, ref: torch.Tensor, *, data_range: float = 1.0, gray: GrayConversion = "rgb2gray_uint8"
) -> torch.Tensor:
    """MAD as the authors' ``MAD_index_april_2010.m``; lower is better, 0 for identical images.

    Args:
        img: images to judge, (N, 3, H, W) RGB or (N, 1, H, W) grey, float in ``[0, data_range]``.
        ref: reference images, same shape.
        data_range: value of white; inputs are rescaled to the script's 0-255 grey levels.
        gray: RGB to grey: rgb2gray_uint8 (MATLAB on 8-bit files), rgb2gray (float) or rgb2gray_rounded.

    Returns:
        Tensor (N,).
    """
    data_range = check_data_range(data_range)
    img, ref = check_pair(img, ref, data_range=data_range, min_size=MIN_SIZE)
    levels = to_gray(torch.cat([ref, img]).to(torch.float64), data_range=data_range, gray=gray, out_range=255)
    uint8 = gray == "rgb2gray_uint8"
    if uint8:  # the script's uint8 images: grey input too is on 8-bit levels (uint8(): half away from zero)
        levels = torch.floor(levels.clamp(0, 255) + 0.5)
    r, d = levels[:, 0].chunk(2)
    out = combine(hi_index(r, d, uint8), lo_index(r, d))
    return out.to(torch.float64 if img.dtype == torch.float64 else torch.float32)


@register_metric(
    MetricSpec(
        name="mad",
        kind="fr",
        higher_is_better=False,
        value_range=(0.0, math.inf),
        differentiable=False,
        color="gray",
        paper="Larson, Chandler, 'Most apparent distortion: full-reference image quality assessment and the role of strategy', J. Electronic Imaging 2010",
        reference_impl="authors' MAD_index_april_2010.m with ical_std.c / ical_stat.c, block size 16",
        tolerance="1e-10 vs a float64 NumPy transcription of MAD_index_april_2010.m with loop-by-loop ports of the two mex files, fed MATLAB rgb2gray of the 8-bit images",
        min_size=MIN_SIZE,
        summary="detection (masked local MSE) and appearance (log-Gabor statistics) blended by the distortion level",
    )
)
class MAD(FRMetric):
    """MAD per image pair, (N,); 0 for identical images."""

    function = staticmethod(mad)

    def __init__(self, *, data_range: DataRange = 1.0, gray: GrayConversion = "rgb2gray_uint8") -> None:
        super().__init__(data_range=data_range)
        self.gray = gray

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        return mad(img, ref, data_range=self.data_range, gray=self.gray)
