"""MANIQA: multi-dimension attention network for no-reference IQA; higher is better.

Paper: Yang et al., "MANIQA: Multi-dimension Attention Network for No-Reference Image Quality
Assessment", CVPR Workshops 2022 (NTIRE 2022 NR-IQA winner). Reference implementation:
``IIGROUP/MANIQA`` (Apache-2.0; ``models/maniqa.py``, ``predict_one_image.py``); pyiqa's
``maniqa_arch.py`` is the implementation papers report numbers from. Network in
:mod:`iqa.models.maniqa`.

Released weights (the files pyiqa downloads, https://github.com/chaofengc/IQA-PyTorch/releases/tag/v0.1-weights
and its Hugging Face mirror): ``ckpt_koniq10k.pt`` (``maniqa`` and ``maniqa_koniq``, pyiqa's default
``maniqa``), ``ckpt_kadid10k.pt`` (``maniqa_kadid``), ``MANIQA_PIPAL-ae6d356b.pth``
(``maniqa_pipal``); each is loaded unchanged with ``strict=True``. Scores are on the scale each was
trained on: about 0-1 (KonIQ MOS and KADID DMOS rescaled to [0, 1], PIPAL's normalised Elo); the
ReLU score head bounds them below by 0 only.

Input path: pixels normalised with mean = std = 0.5 (to [-1, 1]); an image whose shorter side is
at most 224 is first enlarged (bilinear, scale factor 225 / shorter side, as pyiqa); then 224 x 224
crops, each scored by the network as patch scores and patch weights. Two crop protocols:

- ``crops="grid"`` (default, deterministic): pyiqa's test protocol. ``num_crops`` (20) crops at the
  first ``num_crops`` positions of a ceil(sqrt(n)) x ceil(sqrt(n)) grid whose step is
  (side - 224) // floor(sqrt(n)); one weighted mean over the patches of all crops.
- ``crops="random"``: the authors' ``predict_one_image.py``. ``num_crops`` (20) crops whose
  top-left corners come from ``numpy.random.RandomState(seed)`` (seed 20 as released) drawn
  ``randint(0, H - 224)`` then ``randint(0, W - 224)`` per crop; each crop's weighted mean, averaged.
  Seeded per image, so an image's score depends only on the image and the seed.

Either way an image's score never depends on the rest of the batch. Parity: the same seeded random
state dict in the released layout loaded into this network and pyiqa's, one image file scored end
to end by each side's own preprocessing (tests/metrics/nr/test_maniqa.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.maniqa import MANIQA, RELEASES, Variant, load_maniqa
from iqa.options import Range
from iqa.registry import MetricSpec, OfflineBuild, register_metric
from iqa.weights import resolve_weights

Crops = Literal["grid", "random"]
CHUNK = 8  # 224 px crops per network call: bounds memory (a 1024x768 image's 20 crops) at no cost in speed
MIN_SIZE = 8


def _enlarge_small(x: torch.Tensor, size: int) -> torch.Tensor:
    """Pyiqa's rule: a shorter side of at most ``size`` is scaled to ``size + 1`` (bilinear)."""
    short = min(x.shape[-2:])
    if short > size:
        return x
    # scale_factor (not size) as pyiqa passes it: the same output size and the same sampling grid
    return F.interpolate(x, scale_factor=(size + 1) / short, mode="bilinear", align_corners=False)


def grid_corners(h: int, w: int, size: int, n: int) -> list[tuple[int, int]]:
    """Top-left corners of pyiqa's uniform crops: the first ``n`` of a ceil(sqrt n)^2 grid."""
    steps, side = math.isqrt(n), math.ceil(math.sqrt(n))
    sh, sw = (h - size) // steps, (w - size) // steps
    return [(i * sh, j * sw) for i in range(side) for j in range(side)][:n]


def random_corners(h: int, w: int, size: int, n: int, seed: int) -> list[tuple[int, int]]:
    """Top-left corners of the authors' random crops (numpy's legacy generator, top then left per crop)."""
    rs = np.random.RandomState(seed)
    # the release draws randint(0, H - 224), upper bound excluded; max(.., 1) only guards a side of exactly 224
    return [(int(rs.randint(0, max(h - size, 1))), int(rs.randint(0, max(w - size, 1)))) for _ in range(n)]


def _patch_outputs(model: MANIQA, crops: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    per_call = max(1, CHUNK * 224**2 // model.crop_size**2)  # the same pixels per call for smaller networks
    outs = [model(c) for c in crops.split(per_call)]
    return torch.cat([s for s, _ in outs]), torch.cat([w for _, w in outs])


def maniqa(
    img: torch.Tensor,
    *,
    model: MANIQA,
    data_range: float = 1.0,
    crops: Crops = "grid",
    num_crops: int = 20,
    seed: int = 20,
) -> torch.Tensor:
    """MANIQA score per image (about 0-1 for the releases); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at least 8x8.
        model: the MANIQA network (weights loaded, eval mode).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        crops: grid (pyiqa's deterministic uniform crops, pooled over all patches) or random (the authors' seeded crops, per-crop means averaged).
        num_crops: crops per image (20 in both released protocols).
        seed: seed of the random crops (20 as in the authors' predict_one_image.py); unused by grid.
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=MIN_SIZE)
    if num_crops < 1 or crops not in ("grid", "random"):
        raise InputError(f"maniqa: crops must be grid or random and num_crops at least 1, got {crops!r}, {num_crops}")
    dtype, size = model.dtype, model.crop_size
    # to [0, 1] in the input dtype (float64 input at 255 agrees with [0, 1] to float64 rounding), then as pyiqa
    x = _enlarge_small(((img / data_range).to(dtype) - 0.5) / 0.5, size)
    n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
    corners = grid_corners(h, w, size, num_crops) if crops == "grid" else random_corners(h, w, size, num_crops, seed)
    patches = torch.stack([x[..., t : t + size, u : u + size] for t, u in corners], dim=1)  # (N, K, 3, S, S)
    scores, weights = _patch_outputs(model, patches.flatten(0, 1))  # (N*K, P) each
    if crops == "grid":  # pyiqa: one weighted mean over every patch of every crop
        scores, weights = scores.view(n, -1), weights.view(n, -1)
        out = (scores * weights).sum(1) / (weights.sum(1) + 1e-8)
    else:  # the authors: each crop's weighted mean (no epsilon), then the mean over crops
        out = ((scores * weights).sum(1) / weights.sum(1)).view(n, num_crops).mean(1)
    return out.to(img.dtype)


def _spec(name: str, variant: Variant, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(0.0, math.inf),
        differentiable=True,
        color="rgb",
        paper="Yang et al., 'MANIQA: Multi-dimension Attention Network for No-Reference Image Quality Assessment', CVPRW 2022",
        reference_impl="pyiqa maniqa_arch.py (crops='grid', its test protocol); IIGROUP/MANIQA predict_one_image.py (crops='random')",
        tolerance="1e-5 vs pyiqa end to end on a seeded random state dict in the released layout (float32 rounding); no released weights offline",
        weights=(f"maniqa_{variant}",),
        min_size=MIN_SIZE,
        offline=OfflineBuild(stand_ins=(("model", "maniqa_small_on_noise"),)),
        summary=summary,
    )


@register_metric(
    _spec("maniqa", "koniq", "ViT-B/8 + transposed attention + Swin, patch-weighted (KonIQ-10k, pyiqa's default), ~0-1")
)
class MANIQAMetric(NRMetric):
    """MANIQA score per image, (N,), higher is better (about 0-1 as released).

    Args:
        crops: grid (deterministic, pyiqa's test protocol) or random (the authors' seeded random crops).
        num_crops: crops per image (20 as released).
        seed: seed of the random crops (20 as released); unused by grid.
        weights: the released checkpoint file; None: the manifest entry of the variant (IQA_WEIGHTS_DIR, cache, download).
        model: a ready MANIQA network (weights loaded); None builds the release's and loads ``weights``.
    """

    variant: ClassVar[Variant] = "koniq"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        crops: Crops = "grid",
        num_crops: Annotated[int, Range(1)] = 20,
        seed: int = 20,
        weights: str | Path | None = None,
        model: MANIQA | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.crops, self.num_crops, self.seed, self.weights = crops, num_crops, seed, weights
        if model is None:
            model = load_maniqa(self.variant, str(resolve_weights(f"maniqa_{self.variant}", weights)))
        elif model.variant not in (None, self.variant):
            raise InputError(f"{type(self).__name__}: the given model holds the {model.variant} release "
                             f"({RELEASES[model.variant]}); use maniqa_{model.variant}")  # fmt: skip
        self.model = model.eval()

    function = staticmethod(maniqa)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return maniqa(img, model=self.model, data_range=self.data_range, crops=self.crops,
                      num_crops=self.num_crops, seed=self.seed)  # fmt: skip


@register_metric(_spec("maniqa_koniq", "koniq", "MANIQA trained on KonIQ-10k (the same model as maniqa), ~0-1"))
class MANIQAKonIQ(MANIQAMetric):
    """MANIQA with the KonIQ-10k release (``ckpt_koniq10k.pt``); the options of ``maniqa``."""

    variant: ClassVar[Variant] = "koniq"


@register_metric(_spec("maniqa_kadid", "kadid", "MANIQA trained on KADID-10k, ~0-1"))
class MANIQAKADID(MANIQAMetric):
    """MANIQA with the KADID-10k release (``ckpt_kadid10k.pt``); the options of ``maniqa``."""

    variant: ClassVar[Variant] = "kadid"


@register_metric(_spec("maniqa_pipal", "pipal", "MANIQA trained on PIPAL (NTIRE 2022), ~0-1"))
class MANIQAPIPAL(MANIQAMetric):
    """MANIQA with the PIPAL release (``MANIQA_PIPAL-ae6d356b.pth``); the options of ``maniqa``."""

    variant: ClassVar[Variant] = "pipal"
