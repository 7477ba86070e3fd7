"""Input validation shared by all metrics.

Checks raise :mod:`iqa.errors` exceptions (never ``assert``, which ``python -O`` strips) with
messages that name the argument, show the value and say how to fix it.
"""

from __future__ import annotations

import math
from typing import Literal

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
    lo, hi = value_range(x)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise InputError(f"{name} contains NaN or infinite values")
    tol = 1e-6 * data_range
    if lo < -tol or hi > data_range + tol:
        raise InputError(
            f"{name} has values in [{lo:.4g}, {hi:.4g}] but data_range={data_range:g} requires "
            f"[0, {data_range:g}].{range_hint(lo, hi, data_range)} Clamp interpolated images with "
            "x.clamp(0, data_range)."
        )


def value_range(x: torch.Tensor) -> tuple[float, float]:
    """(min, max) of a tensor's values, as floats."""
    x = x.detach()
    lo_t, hi_t = torch.aminmax(flat_rows(x) if x.ndim >= 2 else x.reshape(1, -1))
    return float(lo_t), float(hi_t)


def range_hint(lo: float, hi: float, data_range: float) -> str:
    """A guess at the convention of out-of-range values, only when they clearly look like one.

    Small overshoot (interpolation, a network's output drifting to [-0.01, 1.01]) gets no guess: it
    is not 0-255 data. "0-255" needs a maximum over twice white; "[-1, 1]" a minimum below -25 % of
    white with no value above it.
    """
    tol = 1e-6 * data_range
    if hi > 2 * data_range:
        if data_range == 1.0 and hi <= 255 + tol:
            return " It looks like a [0, 255] image: pass data_range=255 or divide by 255."
        return f" The maximum is over twice data_range={data_range:g}: is data_range the value of white?"
    if lo < -0.25 * data_range and lo >= -data_range - tol and hi <= data_range + tol:
        shift = "(x + 1) / 2" if data_range == 1.0 else f"(x + {data_range:g}) / 2"
        return f" It looks like a [-{data_range:g}, {data_range:g}] image: convert with {shift}."
    return ""


LOSS_TOLERANCE = 0.25
"""Overshoot a loss accepts, as a fraction of data_range on either side of [0, data_range].

One Adam step (lr 1e-2, SSIM loss) took an identity-initialised conv net's output to
[-0.01, 1.18]; a quarter of white covers that, and starts where "[-1, 1] data" is guessed.
"""


def loss_input(x: torch.Tensor, name: str, data_range: float, tolerance: float = LOSS_TOLERANCE) -> torch.Tensor:
    """A loss's input clamped into ``[0, data_range]`` with a straight-through gradient.

    Training drifts a network's output past the range (see :data:`LOSS_TOLERANCE`); metrics refuse
    that, so a loss clamps values up to ``tolerance * data_range`` outside it.
    The gradient passes as if unclamped (straight-through), so overshooting pixels still learn.
    Values further out are a real mistake (wrong data_range, [-1, 1] or 0-255 data) and raise.
    Anything that is not a float tensor, or holds NaN, is returned as is for the metric to refuse
    with its own message.
    """
    if not isinstance(x, torch.Tensor) or x.dtype not in FLOAT_DTYPES or x.numel() == 0:
        return x
    lo, hi = value_range(x)
    if not (math.isfinite(lo) and math.isfinite(hi)) or (lo >= 0 and hi <= data_range):
        return x
    slack = tolerance * data_range
    if lo < -slack or hi > data_range + slack:
        raise InputError(
            f"{name} has values in [{lo:.4g}, {hi:.4g}]; a loss with data_range={data_range:g} clamps values "
            f"within {tolerance:g} x data_range of [0, {data_range:g}] (training overshoot), and these are further."
            f"{range_hint(lo, hi, data_range)} Otherwise end the network with a sigmoid or clamp its output."
        )
    return x + (x.clamp(0, data_range) - x).detach()


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


MixedChannels = Literal["refuse", "gray", "rgb"]
MIXED_CHANNELS: tuple[str, ...] = ("refuse", "gray", "rgb")


def mixed_channels(img_gray: bool, ref_gray: bool, img_name: str, ref_name: str, mixed: MixedChannels) -> str | None:
    """The rule for a full-reference pair where one side is grey and the other colour.

    Scoring such a pair as RGB counts the missing colour as distortion, which is rarely what was
    meant, so it is never silent. ``mixed`` says what happens:

    - ``"refuse"`` (default): an :class:`~iqa.errors.InputError` naming both files and the fixes;
      a folder run records it in the pair's ``error`` and goes on.
    - ``"gray"``: both sides are compared as grey (the colour side through ``to_gray``, MATLAB
      ``rgb2gray`` on 8-bit levels); a warning names the files.
    - ``"rgb"``: the grey side is replicated to three channels (the missing colour counts as
      distortion); a warning names the files.

    Returns:
        None when the pair is not mixed; else the warning text for ``"gray"`` / ``"rgb"``.

    Raises:
        InputError: a mixed pair under ``"refuse"``, or an unknown ``mixed``.
    """
    if mixed not in MIXED_CHANNELS:
        raise InputError(f"mixed must be one of {MIXED_CHANNELS}, got {mixed!r}")
    if img_gray == ref_gray:
        return None
    what = (
        f"img {img_name} is greyscale but ref {ref_name} is colour"
        if img_gray
        else f"img {img_name} is colour but ref {ref_name} is greyscale"
    )
    if mixed == "refuse":
        raise InputError(
            f"{what}: scored as RGB, the missing colour would count as distortion. Convert one so both "
            "match, or pass mixed='gray' (--mixed gray) to compare both as grey, or mixed='rgb' "
            "(--mixed rgb) to score the grey one as RGB"
        )
    if mixed == "gray":
        return f"{what}: compared as grey (the colour one converted with rgb2gray), as mixed='gray' asks"
    return f"{what}: the grey one scored as RGB (missing colour counts as distortion), as mixed='rgb' asks"
