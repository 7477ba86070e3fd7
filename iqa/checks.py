"""Input validation shared by all metrics.

Checks raise :mod:`iqa.errors` exceptions (never ``assert``, which ``python -O`` strips) with
messages that name the argument, show the value and say how to fix it.
"""

from __future__ import annotations

import math

import torch

from iqa.errors import InputError, ShapeError

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def check_data_range(data_range: float) -> float:
    """Validate ``data_range`` (the value of white): a positive finite number."""
    if isinstance(data_range, bool) or not isinstance(data_range, (int, float)):
        raise InputError(f"data_range must be a number such as 1.0 or 255, got {data_range!r}")
    if not math.isfinite(data_range) or data_range <= 0:
        raise InputError(f"data_range must be positive and finite, got {data_range!r}")
    return float(data_range)


def check_image(
    x: object,
    name: str = "img",
    *,
    data_range: float = 1.0,
    channels: tuple[int, ...] = (1, 3),
    min_size: int = 1,
    check_range: bool = True,
) -> torch.Tensor:
    """Check that ``x`` is a float NCHW image batch with values in ``[0, data_range]``.

    Raises:
        InputError: not a tensor, integer dtype, NaN/inf, or values outside the range.
        ShapeError: wrong number of dimensions, channels, or an image smaller than ``min_size``.
    """
    if not isinstance(x, torch.Tensor):
        raise InputError(
            f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(x).__name__}; "
            "use iqa.score(...) or iqa.io.read_image(...) for files and PIL images"
        )
    if x.ndim != 4:
        hint = " (add a batch dimension with x.unsqueeze(0))" if x.ndim == 3 else ""
        raise ShapeError(f"{name} must have 4 dimensions (N, C, H, W), got shape {tuple(x.shape)}{hint}")
    if x.dtype not in FLOAT_DTYPES:
        raise InputError(
            f"{name} has dtype {x.dtype}; metrics take float images in [0, data_range]. "
            "Convert uint8 with x.float() / 255 (and keep data_range=1.0)"
        )
    n, c, h, w = x.shape
    if n == 0:
        raise ShapeError(f"{name} is an empty batch (shape {tuple(x.shape)})")
    if c not in channels:
        raise ShapeError(
            f"{name} has {c} channels (shape {tuple(x.shape)}); this metric accepts {channels}. "
            "Images are NCHW: permute NHWC tensors with x.permute(0, 3, 1, 2)"
        )
    if min(h, w) < min_size:
        raise ShapeError(f"{name} is {h}x{w} pixels; this metric needs at least {min_size}x{min_size}")
    if check_range:
        _check_values(x, name, data_range)
    return x


def flat_rows(x: torch.Tensor) -> torch.Tensor:
    """(N, ...) as (N, M) rows, without a copy when the batch dimension is outermost in memory.

    NHWC data permuted to NCHW (channels_last strides) is dense but not contiguous; strided
    reductions over it were 3x slower than over a flat view (measured: aminmax 25 ms vs 8 ms for
    16 512x384 images), so reductions run on this view instead.
    """
    order = sorted(range(1, x.ndim), key=lambda d: -x.stride()[d])
    return x.permute(0, *order).reshape(x.shape[0], -1)


def _check_values(x: torch.Tensor, name: str, data_range: float) -> None:
    lo_t, hi_t = torch.aminmax(flat_rows(x.detach()))
    lo, hi = float(lo_t), float(hi_t)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"{name} contains NaN or infinite values")
    tol = 1e-6 * data_range
    if lo < -tol or hi > data_range + tol:
        hint = ""
        if lo < 0 and lo >= -1 - tol and hi <= 1 + tol:
            hint = " It looks like a [-1, 1] image: convert with (x + 1) / 2."
        elif hi > data_range and hi <= 255 + tol and data_range == 1.0:
            hint = " It looks like a [0, 255] image: pass data_range=255 or divide by 255."
        raise InputError(
            f"{name} has values in [{lo:.4g}, {hi:.4g}] but data_range={data_range:g} requires "
            f"[0, {data_range:g}].{hint} Clamp interpolated images with x.clamp(0, data_range)."
        )


def check_pair(
    img: object,
    ref: object,
    *,
    data_range: float = 1.0,
    channels: tuple[int, ...] = (1, 3),
    min_size: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Check an (img, ref) pair for a full-reference metric: both valid, same shape."""
    img = check_image(img, "img", data_range=data_range, channels=channels, min_size=min_size)
    ref = check_image(ref, "ref", data_range=data_range, channels=channels, min_size=min_size)
    if img.shape != ref.shape:
        raise ShapeError(
            f"img and ref must have the same shape, got {tuple(img.shape)} and {tuple(ref.shape)}; "
            "resize or crop one of them first"
        )
    if img.dtype != ref.dtype:
        raise InputError(f"img ({img.dtype}) and ref ({ref.dtype}) must have the same dtype")
    if img.device != ref.device:
        raise InputError(f"img is on {img.device} but ref is on {ref.device}; move both to one device")
    return img, ref
