"""MATLAB ``rgb2gray`` in float64 NumPy, written from what rgb2gray.m computes (independent of iqa).

rgb2gray.m takes the first row of ``inv([1.0 0.956 0.621; 1.0 -0.272 -0.647; 1.0 -1.106 1.703])``
(the inverse of rgb2ntsc's YIQ matrix) as its weights; on ``uint8`` input the weighted sum is
computed in double and converted back to ``uint8`` (round half away from zero, saturating). The
documentation quotes the weights rounded to four digits (0.2989, 0.5870, 0.1140).
"""

from __future__ import annotations

import numpy as np

YIQ_TO_RGB = np.array([[1.0, 0.956, 0.621], [1.0, -0.272, -0.647], [1.0, -1.106, 1.703]])
WEIGHTS = np.linalg.inv(YIQ_TO_RGB)[0]  # 0.298936021293775, 0.587043074451121, 0.114020904255103


def im2uint8(x01: np.ndarray) -> np.ndarray:
    """MATLAB ``im2uint8`` of double data in [0, 1]: round half away from zero, saturate."""
    return np.floor(np.clip(x01, 0, 1) * 255 + 0.5).astype(np.uint8)


def rgb2gray_uint8(rgb_u8: np.ndarray) -> np.ndarray:
    """``rgb2gray`` of an (H, W, 3) uint8 image: (H, W) uint8."""
    v = rgb_u8.astype(np.float64) @ WEIGHTS
    return np.floor(np.clip(v, 0, 255) + 0.5).astype(np.uint8)


def gray_levels(rgb01: np.ndarray) -> np.ndarray:
    """What a MATLAB script sees after ``double(rgb2gray(imread(file)))`` for an (H, W, 3) image in [0, 1]
    that came from an 8-bit file: (H, W) float64 grey levels 0..255."""
    return rgb2gray_uint8(im2uint8(rgb01)).astype(np.float64)
