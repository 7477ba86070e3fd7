"""LIQE: blind quality from CLIP image-prompt correspondence (MOS scale 1-5); higher is better.

Paper: Zhang, Zhai, Wei, Yang, Ma, "Blind Image Quality Assessment via Vision-Language
Correspondence: A Multitask Learning Perspective", CVPR 2023. Reference implementation:
``zwx8981/LIQE`` (``LIQE.py``, ``ImageDataset2.py``); pyiqa's ``liqe_arch.py`` is the port behind
pyiqa's ``liqe``/``liqe_mix`` numbers. Network and prompts in :mod:`iqa.models.liqe`.

Released weights (the files pyiqa downloads, https://github.com/chaofengc/IQA-PyTorch/releases/tag/v0.1-weights
and its Hugging Face mirror; fine-tuned OpenAI CLIP ViT-B/32, loaded unchanged with ``strict=True``):

- ``liqe``: ``liqe_koniq.pt``, single task, the 5 prompts
  ``"a photo with {bad|poor|fair|good|perfect} quality"`` (pyiqa's default ``liqe``);
- ``liqe_mix``: ``liqe_mix.pt``, the authors' multitask model (their ``LIQE.pt``, trained on six
  datasets), 495 prompts ``"a photo of a {scene} with {distortion} artifacts, which is of {q}
  quality"`` (9 scenes x 11 distortion types x 5 levels).

Input path (pyiqa's and the authors' test protocol; deterministic): pixels in [0, 1], CLIP
mean/std, no resize (both sides must be at least 224); the 224 x 224 patches of a grid with stride
``stride`` (32) in raster order, of which ``num_patches`` (15) are kept, every
``max(1, n_patches // 15)``-th from the first (all of them when the grid has fewer). Scaled cosine
similarities of each patch to every prompt are averaged over the patches, softmaxed over the
prompts; the quality is sum_q q P(q) with P(q) the marginal over scenes and distortions (q = 1..5).
The authors' training code scores images resized to a shorter side of 768 (when larger) with stride
48 for sides of 1024 or more; pass ``stride=48`` to follow the latter on such images, and resize them
beforehand for the former. (The authors' ``LIQE.py`` demo selects ``batch_size // 15``-spaced patches,
i.e. the first patch 15 times: a bug that pyiqa and their evaluation code do not share.) An image's
score never depends on the rest of the batch.

``liqe_details`` also returns the multitask model's scene and distortion marginals (cheap: the same
softmax). Parity: the same seeded random state dict in the released layout loaded into this network
and pyiqa's, one image file scored end to end by each side (tests/metrics/nr/test_liqe.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.features.clip import open_clip_module
from iqa.metrics.base import DataRange, NRMetric
from iqa.models.liqe import (
    DISTORTIONS,
    PATCH,
    QUALITY_LEVELS,
    RELEASES,
    SCENES,
    LIQENet,
    Variant,
    load_liqe,
)
from iqa.options import Range
from iqa.registry import MetricSpec, OfflineBuild, register_metric
from iqa.weights import resolve_weights

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CHUNK = 16  # patches per image-tower call: bounds memory for large batches, no cost in speed


def patch_corners(h: int, w: int, num_patches: int = 15, stride: int = 32) -> list[tuple[int, int]]:
    """Top-left corners of the kept 224 px patches: the release's evenly spaced picks from the stride grid."""
    grid = [(t, u) for t in range(0, h - PATCH + 1, stride) for u in range(0, w - PATCH + 1, stride)]
    n = min(num_patches, len(grid))
    step = max(1, len(grid) // n)
    return [grid[i * step] for i in range(n)]


def _probabilities(img: torch.Tensor, model: LIQENet, data_range: float, num_patches: int, stride: int) -> torch.Tensor:
    """Softmax over the prompts of the patch-averaged logits, (N, prompts), float32."""
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=PATCH)
    if num_patches < 1 or stride < 1:
        raise InputError(f"liqe: num_patches and stride must be at least 1, got {num_patches}, {stride}")
    dev = img.device
    mean = torch.tensor(CLIP_MEAN, device=dev).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=dev).view(1, 3, 1, 1)
    x = ((img / data_range).to(model.dtype) - mean) / std
    corners = patch_corners(x.shape[-2], x.shape[-1], num_patches, stride)
    # only the kept patches are cut (the release unfolds every patch of the grid, then picks)
    patches = torch.stack([x[..., t : t + PATCH, u : u + PATCH] for t, u in corners], 1).flatten(0, 1)
    logits = torch.cat([model.patch_logits(p) for p in patches.split(CHUNK)])
    return logits.view(len(img), len(corners), -1).mean(1).float().softmax(-1)


def _quality(p: torch.Tensor) -> torch.Tensor:
    marginal = p.view(len(p), len(QUALITY_LEVELS), -1).sum(-1)  # quality is the slowest prompt index
    return marginal @ torch.arange(1.0, len(QUALITY_LEVELS) + 1, device=p.device)


def liqe(
    img: torch.Tensor,
    *,
    model: LIQENet,
    data_range: float = 1.0,
    num_patches: int = 15,
    stride: int = 32,
) -> torch.Tensor:
    """LIQE quality per image on the MOS scale 1-5 (the expected quality level); higher is better.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, both sides at least 224.
        model: the LIQE network (weights loaded and prompts encoded, eval mode).
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
        num_patches: 224 px patches kept per image (15 as released), evenly spaced in the grid's raster order.
        stride: step of the patch grid in pixels (32 as released).
    """
    return _quality(_probabilities(img, model, data_range, num_patches, stride)).to(img.dtype)


def liqe_details(
    img: torch.Tensor, *, model: LIQENet, data_range: float = 1.0, num_patches: int = 15, stride: int = 32
) -> dict[str, torch.Tensor]:
    """Quality (N,) and, for the multitask ``mix`` model, the scene (N, 9) and distortion (N, 11) marginals.

    The class names are :data:`iqa.models.liqe.SCENES` and :data:`iqa.models.liqe.DISTORTIONS`; the
    authors' demo reports the argmax of each. Options as :func:`liqe`.
    """
    p = _probabilities(img, model, data_range, num_patches, stride)
    out = {"quality": _quality(p).to(img.dtype)}
    if model.variant == "mix":
        joint = p.view(len(p), len(QUALITY_LEVELS), len(SCENES), len(DISTORTIONS))
        out["scene"], out["distortion"] = joint.sum((1, 3)), joint.sum((1, 2))
    return out


def _spec(name: str, variant: Variant, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(1.0, 5.0),
        differentiable=True,
        color="rgb",
        paper="Zhang et al., 'Blind Image Quality Assessment via Vision-Language Correspondence: A Multitask Learning Perspective' (LIQE), CVPR 2023",
        reference_impl="pyiqa liqe_arch.py (its eval-mode patch selection = zwx8981/LIQE ImageDataset2.py test protocol)",
        tolerance="1e-5 vs pyiqa end to end on a seeded random state dict in the released layout (float32 rounding); no released weights offline",
        weights=(f"liqe_{variant}",),
        min_size=PATCH,
        offline=OfflineBuild(stand_ins=(("model", "liqe_small_on_noise"),)),
        summary=summary,
    )


@register_metric(
    _spec("liqe", "koniq", "CLIP ViT-B/32 vs 5 quality prompts, 15 patches (KonIQ-10k, pyiqa's default), 1-5")
)
class LIQE(NRMetric):
    """LIQE quality per image, (N,), higher is better (MOS scale 1-5).

    Args:
        num_patches: 224 px patches per image (15 as released).
        stride: patch grid step in pixels (32 as released).
        weights: the released file; None: the manifest entry of the variant (IQA_WEIGHTS_DIR, cache, download).
        model: a ready LIQE network (weights loaded, prompts encoded); None builds the release's and loads ``weights``.
    """

    variant: ClassVar[Variant] = "koniq"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        num_patches: Annotated[int, Range(1)] = 15,
        stride: Annotated[int, Range(1)] = 32,
        weights: str | Path | None = None,
        model: LIQENet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.num_patches, self.stride, self.weights = num_patches, stride, weights
        if model is None:
            open_clip_module("liqe")  # said before any download
            model = load_liqe(self.variant, resolve_weights(f"liqe_{self.variant}", weights))
        elif model.variant != self.variant:
            raise InputError(f"{type(self).__name__}: the given model holds the {model.variant} prompts "
                             f"({RELEASES[model.variant]}); use liqe_{model.variant}")  # fmt: skip
        self.model = model.eval()

    function = staticmethod(liqe)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return liqe(img, model=self.model, data_range=self.data_range, num_patches=self.num_patches, stride=self.stride)

    def details(self, img: torch.Tensor) -> dict[str, torch.Tensor]:
        """Quality and (``liqe_mix``) scene and distortion probabilities; see :func:`liqe_details`."""
        return liqe_details(img, model=self.model, data_range=self.data_range, num_patches=self.num_patches,
                            stride=self.stride)  # fmt: skip


@register_metric(
    _spec("liqe_mix", "mix", "LIQE multitask (quality x 9 scenes x 11 distortions, six datasets), CLIP ViT-B/32, 1-5")
)
class LIQEMix(LIQE):
    """LIQE's multitask release (``liqe_mix.pt``, the authors' LIQE.pt); the options of ``liqe``."""

    variant: ClassVar[Variant] = "mix"
