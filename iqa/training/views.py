"""CONTRIQUE's training views (``pavancm/CONTRIQUE`` ``modules/dataset_loader.py``), on 8-bit PIL images.

One view of an image: resize by 1/d (d = 1 or 2; the other view of the pair uses 3 - d, so one is at
full and one at half scale), a random ``size`` crop (a centre crop that zero-pads when the resized
image is smaller), a colour space drawn uniformly from five (grey, LAB through ImageCms, HSV, the
local-mean-subtraction "MS" transform, RGB unchanged), a horizontal flip with probability 1/2, and
ToTensor only (no mean/std). Randomness comes from the ``numpy.random.Generator`` passed in, so a
seeded run draws the same views.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageCms
from scipy.ndimage import correlate1d

COLOUR_SPACES = ("gray", "lab", "hsv", "ms", "rgb")
_LAB = None


def gauss_window(lw: int = 3, sigma: float = 7 / 6) -> np.ndarray:
    """The 2 lw + 1 normalised Gaussian taps of scikit-video's ``gen_gauss_window`` (float32 exponent, as there)."""
    taps = np.exp(-0.5 * np.arange(-lw, lw + 1, dtype=np.float32) ** 2 / np.float32(sigma * sigma))
    return (taps / taps.sum()).astype(np.float64)


def ms_transform(a: np.ndarray) -> np.ndarray:
    """Per channel: x - Gaussian local mean (reflect borders, no division by sigma), min-max to [0, 1), x255, uint8."""
    x = a.astype(np.float32)
    w = gauss_window()
    out = np.empty_like(x)
    for c in range(x.shape[2]):
        mu = np.zeros(x.shape[:2], dtype=np.float32)
        correlate1d(x[:, :, c], w, 0, mu, mode="reflect")
        correlate1d(mu, w, 1, mu, mode="reflect")
        d = x[:, :, c] - mu
        out[:, :, c] = (d - d.min()) / (np.ptp(d) + 1e-3)
    return (out * 255).astype(np.uint8)


def colour_space(im: Image.Image, which: str) -> Image.Image:
    """One of :data:`COLOUR_SPACES` (3 channels, 8 bits each)."""
    global _LAB
    if which == "gray":
        return im.convert("L").convert("RGB")  # torchvision's RandomGrayscale(p=1): three equal channels
    if which == "lab":
        if _LAB is None:
            _LAB = ImageCms.buildTransformFromOpenProfiles(
                ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
            )
        lab = ImageCms.applyTransform(im, _LAB)
        if lab is None:  # only in-place transforms return None
            raise RuntimeError("ImageCms.applyTransform returned no image")
        return lab
    if which == "hsv":
        return im.convert("HSV")
    if which == "ms":
        return Image.fromarray(ms_transform(np.asarray(im)))
    return im


def resize_crop(im: Image.Image, size: int, d: int, rng: np.random.Generator) -> Image.Image:
    """Resize to (H // d, W // d) (bilinear, antialiased as torchvision on PIL), then a random (or padded centre) crop."""
    w, h = im.size
    if d != 1:
        im = im.resize((w // d, h // d), Image.Resampling.BILINEAR)
    w, h = im.size
    if w < size or h < size:
        left, top = (w - size) // 2, (h - size) // 2  # negative offsets: PIL pads with zeros, as CenterCrop
        return im.crop((left, top, left + size, top + size))
    left, top = int(rng.integers(0, w - size + 1)), int(rng.integers(0, h - size + 1))
    return im.crop((left, top, left + size, top + size))


def to_tensor(im: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1).float() / 255


def make_view(im: Image.Image, size: int, d: int, rng: np.random.Generator, colour: str | None = None) -> torch.Tensor:
    """One training view, (3, size, size) float in [0, 1]."""
    v = colour_space(resize_crop(im, size, d, rng), colour or COLOUR_SPACES[int(rng.integers(0, 5))])
    if rng.random() < 0.5:
        v = v.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return to_tensor(v)


def view_pair(im: Image.Image, size: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(view at 1/d, view at 1/(3 - d)) with d drawn from {1, 2}, as the release's ``__getitem__``."""
    d = int(rng.integers(1, 3))
    second = make_view(im, size, d, rng)
    first = make_view(im, size, 3 - d, rng)
    return first, second
