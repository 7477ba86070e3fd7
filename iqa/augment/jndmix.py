"""JNDMix: random-sign noise shaped by a JND map, mixed into training images (labels unchanged).

Paper: "JND-Based Data Augmentation for No-reference Image Quality Assessment", ICASSP 2023
(arXiv 2302.09838); no official code. What the abstract fixes: inject noise below the visibility
threshold into training images without changing their labels. What we chose, since the paper's
details were not available to us (each is an argument):

- ``model="wu2017"`` JND map by default (see :mod:`iqa.augment.jnd`), computed at the image's
  resolution. Measured reason (Set14, ``benchmarks/bench_jndmix.py``): at equal noise energy its
  noise lowers SSIM 30 % and MS-SSIM 34 % less than white noise; the NAMM (Chou) map, whose
  luminance term puts much of the noise in dark flat regions that SSIM penalises, saves 17 % and
  21 %, and NAMM with Yang's edge suppression saves nothing (ratio 1.05);
- noise ``S * J`` with S uniform in {-1, +1}, independent per pixel and channel (classic JND-noise
  injection);
- applied with probability ``p=0.5``, strength ``lambda ~ U(strength)`` with ``strength=(0, 1)``;
- J computed with replicated borders (MATLAB's zero padding would put a frame of stronger noise
  around every image);
- ``x + lambda S J / 255`` clipped to [0, 1]. Apply before resizing/cropping (J depends on scale).

Usable like a torchvision transform on (3, H, W) or (N, 3, H, W) float tensors in [0, 1].
"""

from __future__ import annotations

import torch

from iqa.augment.jnd import MODELS, jnd_map
from iqa.errors import InputError


def jnd_noise(
    x: torch.Tensor,
    *,
    model: str = "wu2017",
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float64,
) -> torch.Tensor:
    """Random-sign JND noise S * J / 255 for images (N, 3, H, W) in [0, 1], in ``dtype``."""
    # Replicated borders: no frame of stronger noise around the image.
    j = jnd_map(x, model, padding="replicate", dtype=dtype) / 255
    sign = torch.randint(0, 2, x.shape, generator=generator, dtype=torch.int8).to(dtype) * 2 - 1
    return sign * j


class JNDMix:
    """Random JND-shaped noise (see module docstring).

    Args:
        p: probability that an image is augmented.
        strength: lambda, a fixed float or a (low, high) range sampled uniformly per image.
        model: JND model, one of ``iqa.augment.jnd.MODELS``.
        generator: a ``torch.Generator`` for reproducible draws; None uses torch's global RNG
            (as torchvision transforms do, so DataLoader workers get their own streams).
    """

    def __init__(self, p: float = 0.5, strength: float | tuple[float, float] = (0.0, 1.0), model: str = "wu2017",
                 generator: torch.Generator | None = None) -> None:  # fmt: skip
        if not 0 <= p <= 1:
            raise InputError(f"p must be in [0, 1], got {p}")
        lo, hi = (strength, strength) if isinstance(strength, (int, float)) else strength
        if not 0 <= lo <= hi:
            raise InputError(f"strength must be >= 0 (a value or a (low, high) range), got {strength}")
        if model not in MODELS:
            raise InputError(f"model must be one of {MODELS}, got {model!r}")
        self.p, self.lo, self.hi, self.model, self.generator = p, float(lo), float(hi), model, generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim not in (3, 4) or x.shape[-3] != 3 or not x.is_floating_point():
            raise InputError(
                f"JNDMix takes float RGB (3, H, W) or (N, 3, H, W) in [0, 1], got {x.dtype} {tuple(x.shape)}"
            )
        batch = x[None] if x.ndim == 3 else x
        apply, lam = self._draws(len(batch))
        if lam is None:
            return x
        out = batch.clone()
        for i in apply.nonzero().flatten().tolist():  # per image: large batches thrash the cache (measured 3x slower)
            noise = jnd_noise(batch[i : i + 1].cpu(), model=self.model, generator=self.generator, dtype=torch.float32)
            out[i] = (batch[i].float() + float(lam[i]) * noise[0].to(batch.device)).clamp(0, 1).to(batch.dtype)
        return out[0] if x.ndim == 3 else out

    def _draws(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Per image: applied (Bernoulli p) and lambda ~ U(low, high); no lambda when none is applied."""
        apply = torch.rand(n, generator=self.generator) < self.p
        if not apply.any():
            return apply, None
        return apply, self.lo + (self.hi - self.lo) * torch.rand(n, generator=self.generator, dtype=torch.float64)

    def __repr__(self) -> str:
        return f"JNDMix(p={self.p}, strength=({self.lo}, {self.hi}), model={self.model!r})"


def jnd_heatmap(x: torch.Tensor, model: str = "wu2017") -> torch.Tensor:
    """(3, H, W) RGB image in [0, 1] -> (3, H, W) colour-mapped JND map (viridis, 0 to the map's max)."""
    from matplotlib import colormaps

    j = jnd_map(x[None] if x.ndim == 3 else x[:1], model, padding="replicate")[0, 0].numpy()
    rgb = colormaps["viridis"](j / max(j.max(), 1e-9))[..., :3]
    return torch.from_numpy(rgb).permute(2, 0, 1).float()
