"""MATLAB ``imresize`` (bicubic or bilinear, with antialiasing) for float images.

Reference: MATLAB Image Processing Toolbox ``imresize`` (``contributions``/``cubic``/``triangle``):
for output pixel i (1-based) the source coordinate is u = i / s + 0.5 (1 - 1 / s); the kernel
(cubic a = -0.5, Keys 1981, width 4; or the triangle, width 2) is widened to width / s and
scaled by s when shrinking with antialiasing; weights are normalised to sum 1; source indices
outside the image are mirrored (symmetric padding). Each dimension is resampled as a weighted
sum over its few taps (``resize_matrix`` gives the equivalent dense matrix), differentiably.
No rounding happens between the two passes (MATLAB rounds only for integer inputs), so the
order of the dimensions does not matter.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch

from iqa.errors import InputError


def _cubic(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def _triangle(x: torch.Tensor) -> torch.Tensor:
    return (1 - x.abs()).clamp_min(0)


KERNELS = {"bicubic": (_cubic, 4.0), "bilinear": (_triangle, 2.0)}


def resize_taps(
    in_len: int, out_len: int, scale: float, antialias: bool = True, method: str = "bicubic"
) -> tuple[torch.Tensor, torch.Tensor]:
    """MATLAB's contributions along one dimension: (out_len, taps) source indices (0-based, mirrored) and float64 weights."""
    if method not in KERNELS:
        raise InputError(f"imresize method must be one of {sorted(KERNELS)}, got {method!r}")
    kernel, base_width = KERNELS[method]
    shrink = antialias and scale < 1
    width = base_width / scale if shrink else base_width
    i = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = i / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left.unsqueeze(1) + torch.arange(taps, dtype=torch.float64).unsqueeze(0)  # 1-based source indices
    dist = u.unsqueeze(1) - idx
    w = scale * kernel(scale * dist) if shrink else kernel(dist)
    w = w / w.sum(1, keepdim=True)
    # Mirror out-of-range indices (MATLAB: aux = [1:n, n:-1:1], index mod 2n).
    mirror = torch.cat([torch.arange(in_len), torch.arange(in_len - 1, -1, -1)])
    return mirror[((idx - 1).long()) % (2 * in_len)], w


@lru_cache(maxsize=32)
def resize_matrix(
    in_len: int, out_len: int, scale: float, antialias: bool = True, method: str = "bicubic"
) -> torch.Tensor:
    """(out_len, in_len) float64 matrix of MATLAB's contributions along one dimension (cached; do not modify)."""
    src, w = resize_taps(in_len, out_len, scale, antialias, method)
    m = torch.zeros(out_len, in_len, dtype=torch.float64)
    m.scatter_add_(1, src, w)
    return m


def _resample(x: torch.Tensor, dim: int, src: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Weighted sum over the taps along ``dim``: O(out x taps), unlike a dense (out x in) product."""
    shape = [1] * x.dim()
    shape[dim] = len(src)
    out = x.index_select(dim, src[:, 0]) * w[:, 0].view(shape)
    for t in range(1, src.shape[1]):
        out = out + x.index_select(dim, src[:, t]) * w[:, t].view(shape)
    return out


def imresize(
    x: torch.Tensor,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    *,
    antialias: bool = True,
    method: str = "bicubic",
) -> torch.Tensor:
    """MATLAB ``imresize(x, scale)`` or ``imresize(x, [h w])`` (``method`` "bicubic" or "bilinear") on (..., H, W) float tensors.

    With ``scale``, the output size is ``ceil(scale * H)`` x ``ceil(scale * W)`` as in MATLAB.
    float64 input is resampled in float64, anything else in float32.
    """
    if (scale is None) == (size is None):
        raise InputError("give exactly one of scale or size")
    h, w = x.shape[-2:]
    if scale is not None:
        if scale <= 0:
            raise InputError(f"scale must be > 0, got {scale}")
        oh, ow, sh, sw = math.ceil(scale * h), math.ceil(scale * w), scale, scale
    else:
        oh, ow = size  # type: ignore[misc]
        if oh < 1 or ow < 1:
            raise InputError(f"size must be positive, got {size}")
        sh, sw = oh / h, ow / w
    dt = torch.float64 if x.dtype == torch.float64 else torch.float32
    y = x.to(dt)
    passes = [(-2, h, oh, sh), (-1, w, ow, sw)]
    if w * ow * h + oh * h * ow < oh * h * w + oh * w * ow:  # shrink the dimension that saves most first
        passes.reverse()
    for dim, n_in, n_out, s in passes:
        y = _resize_dim(y, dim, n_in, n_out, s, antialias, method)
    return y.to(x.dtype) if x.is_floating_point() else y


DENSE_MAX = 2048  # up to this input length a dense GEMM beats gathering the few taps by ~5x on CPU


def _resize_dim(
    y: torch.Tensor, dim: int, n_in: int, n_out: int, s: float, antialias: bool, method: str
) -> torch.Tensor:
    if n_in <= DENSE_MAX:
        m = resize_matrix(n_in, n_out, s, antialias, method).to(device=y.device, dtype=y.dtype)
        return torch.matmul(m, y) if dim == -2 else torch.matmul(y, m.t())
    src, wts = resize_taps(n_in, n_out, s, antialias, method)
    return _resample(y, dim, src.to(y.device), wts.to(device=y.device, dtype=y.dtype))
