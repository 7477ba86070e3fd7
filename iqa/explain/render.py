"""Heatmap overlays as the FID-heatmap reference renders them (kynkaat ``show_sensitivity_on_image``).

Map min-max scaled to [0, 255] uint8 -> PIL LANCZOS upsampling to the image size -> colour map ->
``2 * heat + minmax(image)`` -> min-max again -> uint8. The reference uses OpenCV's PARULA map;
matplotlib's ``viridis`` (a similar perceptually uniform blue-to-yellow map) is used here so that
OpenCV is not a dependency: overlays differ from the reference's in hue only.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image


def minmax(x: np.ndarray) -> np.ndarray:
    """Scale to [0, 1]; a constant array becomes zeros (not NaN)."""
    x = np.asarray(x, dtype=np.float64)
    lo, hi = x.min(), x.max()
    return (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)


def upsample_map(heat: torch.Tensor | np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(h, w) map -> (H, W) in [0, 1]: min-max, uint8, PIL LANCZOS to ``size`` = (H, W)."""
    u8 = (minmax(np.asarray(heat)) * 255).astype(np.uint8)
    big = Image.fromarray(u8).resize((size[1], size[0]), resample=Image.Resampling.LANCZOS)
    return np.asarray(big, dtype=np.float64) / 255


def colorize(heat01: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """(H, W) in [0, 1] -> (H, W, 3) RGB in [0, 1] through a matplotlib colour map."""
    from matplotlib import colormaps

    return colormaps[cmap](heat01)[..., :3]


def overlay(image: torch.Tensor, heat: torch.Tensor | np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """Image (3, H, W) in [0, 1] and a map (h, w) -> (H, W, 3) uint8 overlay."""
    img = image.detach().to("cpu", torch.float64).permute(1, 2, 0).numpy()
    heat_rgb = colorize(upsample_map(heat, img.shape[:2]), cmap)
    return (minmax(2.0 * heat_rgb + minmax(img)) * 255).round().astype(np.uint8)


def heat_only(heat: torch.Tensor | np.ndarray, size: tuple[int, int], cmap: str = "viridis") -> np.ndarray:
    """The coloured map alone at ``size`` (H, W), uint8."""
    return (colorize(upsample_map(heat, size), cmap) * 255).round().astype(np.uint8)
