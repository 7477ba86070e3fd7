"""Hand-crafted low-level image statistics: a feature space that was never trained on ImageNet.

Used as the independent check space of the resampling attack when no second network (e.g. CLIP)
is available: if reweighting a pool lowers FD in a classifier's feature space but not here, the
drop did not come from the images' colours, contrast, sharpness or noise. It is not a quality
metric and has no reference implementation; the features are defined here.

Input: RGB in [0, 1], resized (bilinear, antialiased) to 256 x 256. 98 features:
- per-channel mean, standard deviation and skewness of R, G, B (9);
- a joint 4 x 4 x 4 RGB colour histogram, as fractions (64);
- luma gradient-magnitude (central differences) histogram over 8 log-spaced bins (8);
- log energy of the luma power spectrum in 8 octave-like radial bands (8);
- MSCN coefficients (7 x 7 Gaussian, sigma 7/6, as BRISQUE/NIQE) at full and half scale: variance,
  mean |x|, kurtosis (6);
- fraction of clipped pixels (luma <= 1/255, >= 254/255) (2) and the mean saturation (1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from iqa.errors import InputError
from iqa.features.base import FeatureExtractor

SIZE = 256


def _gauss7(dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    x = torch.arange(-3, 4, dtype=dtype, device=device)
    g = torch.exp(-(x**2) / (2 * (7 / 6) ** 2))
    g = g / g.sum()
    return (g[:, None] * g[None, :])[None, None]


def _mscn_stats(y: torch.Tensor) -> torch.Tensor:
    k = _gauss7(y.dtype, y.device)
    mu = F.conv2d(F.pad(y, (3, 3, 3, 3), mode="replicate"), k)
    var = F.conv2d(F.pad(y * y, (3, 3, 3, 3), mode="replicate"), k) - mu * mu
    m = (y - mu) / (var.clamp_min(0).sqrt() + 1 / 255)
    v = m.var(dim=(1, 2, 3))
    kurt = ((m - m.mean(dim=(1, 2, 3), keepdim=True)) ** 4).mean(dim=(1, 2, 3)) / v.clamp_min(1e-12) ** 2
    return torch.stack([v, m.abs().mean(dim=(1, 2, 3)), kurt], 1)


def _spectrum_bands(y: torch.Tensor, bands: int = 8) -> torch.Tensor:
    power = torch.fft.fftshift(torch.fft.fft2(y[:, 0] - y.mean(dim=(2, 3))[..., None]), dim=(-2, -1)).abs() ** 2
    c = SIZE // 2
    axis = torch.arange(SIZE, device=y.device) - c
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    r = torch.sqrt((yy**2 + xx**2).to(y.dtype))
    edges = [0.0] + [c * 2 ** (b - bands + 1) for b in range(bands)]
    out = [power[:, (r > lo) & (r <= hi)].mean(1) for lo, hi in zip(edges[:-1], edges[1:])]
    return torch.log(torch.stack(out, 1) + 1e-10)


def _gradient_hist(y: torch.Tensor, bins: int = 8) -> torch.Tensor:
    # central differences on the interior: symmetric, so the statistics are flip invariant
    gx, gy = (y[..., 1:-1, 2:] - y[..., 1:-1, :-2]) / 2, (y[..., 2:, 1:-1] - y[..., :-2, 1:-1]) / 2
    mag = torch.sqrt(gx**2 + gy**2).flatten(1)
    edges = torch.logspace(-3, 0, bins + 1, dtype=y.dtype, device=y.device)
    return _fractions(torch.bucketize(mag.clamp(max=0.999), edges[1:-1]), bins, y.dtype)


def _fractions(idx: torch.Tensor, bins: int, dtype: torch.dtype) -> torch.Tensor:
    """Per-row histogram of integer bin indices (N, M) as fractions (N, bins)."""
    counts = torch.zeros(idx.shape[0], bins, dtype=dtype, device=idx.device)
    counts.scatter_add_(1, idx, torch.ones_like(idx, dtype=dtype))
    return counts / idx.shape[1]


class PixelStats(FeatureExtractor):
    """98-d colour, contrast, sharpness and noise statistics (see the module docstring)."""

    name = "pixel_stats"
    dim = 98
    version = 2  # bump whenever a feature changes: cached features are keyed by it

    def cache_key(self) -> str:
        return f"{self.name}-v{self.version}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"{self.name} takes (N, 3, H, W) RGB images in [0, 1], got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise InputError(f"{self.name}: the input has NaN or infinite values")
        x = F.interpolate(
            x.to(torch.float32), size=(SIZE, SIZE), mode="bilinear", align_corners=False, antialias=True
        ).clamp(0, 1)
        mean = x.mean(dim=(2, 3))
        std = x.std(dim=(2, 3))
        skew = ((x - mean[..., None, None]) ** 3).mean(dim=(2, 3)) / std.clamp_min(1e-6) ** 3
        q = (x * 3.999).floor().long()
        joint = _fractions((q[:, 0] * 16 + q[:, 1] * 4 + q[:, 2]).flatten(1), 64, x.dtype)
        y = (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])[:, None]
        half = F.avg_pool2d(y, 2)
        clipped = torch.stack(
            [(y <= 1 / 255).to(x.dtype).mean(dim=(1, 2, 3)), (y >= 254 / 255).to(x.dtype).mean(dim=(1, 2, 3))], 1
        )
        sat = ((x.amax(1) - x.amin(1)) / x.amax(1).clamp_min(1e-6)).mean(dim=(1, 2))[:, None]
        feats = [
            mean,
            std,
            skew,
            joint,
            _gradient_hist(y),
            _spectrum_bands(y),
            _mscn_stats(y),
            _mscn_stats(half),
            clipped,
            sat,
        ]
        out = torch.cat(feats, 1).to(torch.float32)
        return out
