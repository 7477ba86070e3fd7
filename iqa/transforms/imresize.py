"""MATLAB ``imresize`` (bicubic, with antialiasing) for float images, as resampling matrices.

Reference: MATLAB Image Processing Toolbox ``imresize`` (``contributions``/``cubic``): for output
pixel i (1-based) the source coordinate is u = i / s + 0.5 (1 - 1 / s); the cubic kernel (a = -0.5,
Keys 1981) is widened to 4 / s and scaled by s when shrinking with antialiasing; weights are
normalised to sum 1; source indices outside the image are mirrored (symmetric padding). Each
dimension is a dense (out x in) matrix, so the resize is two matrix products in float64 and is
differentiable. No rounding happens between the two passes (MATLAB rounds only for integer
inputs), so the order of the dimensions does not matter.
"""

from __future__ import annotations

import math

import torch

from iqa.errors import InputError


def _cubic(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    ax2, ax3 = ax**2, ax**3
    return (1.5 * ax3 - 2.5 * ax2 + 1) * (ax <= 1) + (-0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2) * ((ax > 1) & (ax <= 2))


def resize_matrix(in_len: int, out_len: int, scale: float, antialias: bool = True) -> torch.Tensor:
    """(out_len, in_len) float64 matrix of MATLAB's bicubic contributions along one dimension."""
    shrink = antialias and scale < 1
    width = 4.0 / scale if shrink else 4.0
    i = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = i / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = int(math.ceil(width)) + 2
    idx = left.unsqueeze(1) + torch.arange(taps, dtype=torch.float64).unsqueeze(0)  # 1-based source indices
    dist = u.unsqueeze(1) - idx
    w = scale * _cubic(scale * dist) if shrink else _cubic(dist)
    w = w / w.sum(1, keepdim=True)
    # Mirror out-of-range indices (MATLAB: aux = [1:n, n:-1:1], index mod 2n).
    mirror = torch.cat([torch.arange(in_len), torch.arange(in_len - 1, -1, -1)])
    src = mirror[((idx - 1).long()) % (2 * in_len)]
    m = torch.zeros(out_len, in_len, dtype=torch.float64)
    m.scatter_add_(1, src, w)
    return m


def imresize(x: torch.Tensor, scale: float | None = None, size: tuple[int, int] | None = None, *, antialias: bool = True) -> torch.Tensor:
    """MATLAB ``imresize(x, scale)`` or ``imresize(x, [h w])``, bicubic, on (..., H, W) float tensors.

    With ``scale``, the output size is ``ceil(scale * H)`` x ``ceil(scale * W)`` as in MATLAB.
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
    mh = resize_matrix(h, oh, sh, antialias).to(x.device)
    mw = resize_matrix(w, ow, sw, antialias).to(x.device)
    y = torch.matmul(mh.to(torch.float64), x.to(torch.float64))
    y = torch.matmul(y, mw.t())
    return y.to(x.dtype) if x.is_floating_point() else y
