"""Colour conversions with named conventions.

``rgb_to_y`` is the luma row of MATLAB's ``rgb2ycbcr`` (ITU-R BT.601, limited/"studio" range:
Y in [16, 235] for 8-bit input), the Y channel that SSIM/PSNR papers in image restoration report.
``rgb_to_y_full`` is the full-range BT.601 luma (JPEG/JFIF convention, Y in [0, 255]).
Inputs are float NCHW RGB in ``[0, data_range]``; outputs are N1HW in the same scale.
"""

from __future__ import annotations

import torch

from iqa.checks import MixedChannels
from iqa.transforms.matlab import to_gray

# MATLAB rgb2ycbcr: Y = 16 + (65.481 R + 128.553 G + 24.966 B) for R, G, B in [0, 1].
_Y_LIMITED = (65.481 / 255.0, 128.553 / 255.0, 24.966 / 255.0)
_Y_LIMITED_OFFSET = 16.0 / 255.0
# JFIF full-range luma: Y = 0.299 R + 0.587 G + 0.114 B.
_Y_FULL = (0.299, 0.587, 0.114)


def _weighted_sum(x: torch.Tensor, w: tuple[float, float, float]) -> torch.Tensor:
    # Accumulate in place: one output-sized buffer instead of three temporaries.
    out = x[:, 0:1] * w[0]
    out.add_(x[:, 1:2], alpha=w[1])
    return out.add_(x[:, 2:3], alpha=w[2])


def rgb_to_y(x: torch.Tensor, *, data_range: float = 1.0, quantize: bool = False) -> torch.Tensor:
    """BT.601 limited-range luma, as MATLAB ``rgb2ycbcr(...)(:, :, 1)``.

    Args:
        x: float RGB images, shape (N, 3, H, W), in ``[0, data_range]``.
        data_range: the value of white in ``x`` (the output uses the same scale).
        quantize: round Y to 8-bit levels, as MATLAB does when ``rgb2ycbcr`` gets a uint8 image.

    Returns:
        Tensor of shape (N, 1, H, W) in ``[16/255, 235/255] * data_range``.
    """
    y = _weighted_sum(x, _Y_LIMITED).add_(_Y_LIMITED_OFFSET * data_range)
    if quantize:
        # MATLAB rounds half away from zero; values are positive so floor(v + 0.5) is the same.
        scale = 255.0 / data_range
        y = torch.floor(y * scale + 0.5) / scale
    return y


def rgb_to_y_full(x: torch.Tensor) -> torch.Tensor:
    """Full-range BT.601 luma (JFIF), shape (N, 1, H, W), same scale as ``x``."""
    return _weighted_sum(x, _Y_FULL)


def apply_mixed(
    img: torch.Tensor, ref: torch.Tensor, img_gray: bool, mixed: MixedChannels
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(img, ref)`` of an accepted mixed pair (``img_gray``: which side is grey), both 3-channel.

    Under ``"gray"`` the colour side goes through ``to_gray`` (MATLAB ``rgb2gray`` on 8-bit
    levels, the iqa default); the grey side is kept as it is (1 channel, or the 3 equal channels a
    grey file decodes to) and every 1-channel side is replicated to 3. Inputs are float images in
    [0, 1], (N, C, H, W) or (C, H, W).
    """

    def three(x: torch.Tensor, gray_side: bool) -> torch.Tensor:
        if mixed == "gray" and not gray_side and x.shape[-3] == 3:
            x = to_gray(x, data_range=1.0) if x.ndim == 4 else to_gray(x.unsqueeze(0), data_range=1.0)[0]
        if x.shape[-3] == 1:
            x = x.expand(*x.shape[:-3], 3, *x.shape[-2:]).contiguous()
        return x

    return three(img, img_gray), three(ref, not img_gray)
