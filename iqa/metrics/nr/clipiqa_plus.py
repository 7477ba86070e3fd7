"""CLIP-IQA+: CLIP-IQA with 16 learned prompt context vectors around "Good photo." / "Bad photo.".

Paper: Wang, Chan, Loy, "Exploring CLIP for Assessing the Look and Feel of Images", AAAI 2023
(CLIP-IQA+, CoOp-style prompts trained on KonIQ-10k). Released weights (prompt files; the towers are
OpenAI's, manifest ``clip_rn50_openai`` / ``clip_vit_l14_openai``), as IQA-PyTorch (pyiqa) hosts them,
https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/:

- ``clipiqa_plus`` = ``CLIP-IQA+_learned_prompts-603f3273.pth`` (the authors' prompts; a bare context
  tensor): RN50, no position embedding (the release's default);
- ``clipiqa_plus_rn50_512`` = ``CLIPIQA+_RN50_512-89f5d940.pth`` and ``clipiqa_plus_vitl14_512`` =
  ``CLIPIQA+_ViTL14_512-e66488f2.pth`` (pyiqa's fine-tuned prompts, ``{"params": prompt_learner.*}``
  with their own token embeddings): RN50 / ViT-L/14 with the position table resized to the input's
  token count (``pos_embedding=True`` in pyiqa's configuration).

Reference implementation: the authors' ``IceClear/CLIP-IQA`` (``CLIPIQAPredictor``/``PromptLearner``,
class words in the middle of the context) and pyiqa 0.1.16's ``clipiqa+``, ``clipiqa+_rn50_512`` and
``clipiqa+_vitL14_512`` (the runnable test-time reference). Input path as released: the image at its
own size, CLIP's mean/std; score = softmax over the pair of 100 x cosine, P("Good photo."), in [0, 1].

Parity: ours and pyiqa's CLIPIQA with the same seeded random tower (OpenAI's layout) and random prompt
files in each release's layout, scored end to end from the same PNG, agree to 1e-5 (RN50, both
position rules) and 1e-4 (ViT-L/14) (tests/metrics/nr/test_clipiqa_plus.py).
"""

from __future__ import annotations

from pathlib import Path

import torch

from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric
from iqa.metrics.nr.clipiqa import _PAPER, clipiqa
from iqa.models.clipiqa import PLUS_RELEASES, CLIPIQANet, load_clipiqa_plus
from iqa.registry import MetricSpec, OfflineBuild, register_metric

_TOLERANCE = ("1e-5 absolute vs pyiqa's CLIPIQA (clipiqa+ model types) with the same random tower and prompt "
              "file, RN50 (measured <= 8e-7); 1e-4 for ViT-L/14 (24 blocks, fused attention here); OpenAI's "
              "and the prompt weights are not available offline")  # fmt: skip


def _spec(name: str, pyiqa_name: str, summary: str) -> MetricSpec:
    backbone, prompt_id, pos = PLUS_RELEASES[name]
    vit = backbone.startswith("ViT")
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="rgb",
        paper=_PAPER,
        reference_impl=f"pyiqa 0.1.16 {pyiqa_name} (pyiqa/archs/clipiqa_arch.py), after IceClear/CLIP-IQA "
        f"CLIPIQAPredictor; {backbone}, position embedding {'resized' if pos == 'resize' else 'dropped'}",
        tolerance=_TOLERANCE,
        weights=("clip_vit_l14_openai" if vit else "clip_rn50_openai", prompt_id),
        min_size=14 if vit else 32,
        offline=OfflineBuild(stand_ins=(("model", "clipiqa_small_on_noise"),)),
        summary=summary,
    )


@register_metric(
    _spec("clipiqa_plus", "clipiqa+", "CLIP-IQA+: the authors' learned prompts on OpenAI CLIP RN50, full size, 0-1")
)
class CLIPIQAPlus(NRMetric):
    """CLIP-IQA+ score per image, (N,), in [0, 1], higher is better.

    Args:
        weights: the prompt file in either released layout; None: the variant's released file.
        clip_weights: OpenAI's archive of the variant's tower (sha256-verified); None: through the weights manager.
        model: a ready :class:`iqa.models.clipiqa.CLIPIQANet` with learned prompts (its weights loaded).
    """

    release = "clipiqa_plus"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        weights: str | Path | None = None,
        clip_weights: str | Path | None = None,
        model: CLIPIQANet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.weights, self.clip_weights = weights, clip_weights
        if model is None:
            model = load_clipiqa_plus(self.release, weights, clip_weights)
        elif model.prompt_learner is None:
            raise InputError(f"{self.spec.name}: the given network has fixed prompts (clipiqa); this metric "
                             "needs learned ones")  # fmt: skip
        elif model.pos_embedding != PLUS_RELEASES[self.release][2]:
            raise InputError(f"{self.spec.name}: the release runs pos_embedding={PLUS_RELEASES[self.release][2]!r}, "
                             f"the given network {model.pos_embedding!r}")  # fmt: skip
        self.model = model.eval()

    function = staticmethod(clipiqa)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return clipiqa(img, model=self.model, data_range=self.data_range)


@register_metric(
    _spec(
        "clipiqa_plus_rn50_512",
        "clipiqa+_rn50_512",
        "CLIP-IQA+ with pyiqa's fine-tuned RN50 prompts, position table resized to the input, 0-1",
    )
)
class CLIPIQAPlusRN50512(CLIPIQAPlus):
    """CLIP-IQA+ with pyiqa's ``CLIPIQA+_RN50_512`` prompts (RN50, position table resized)."""

    release = "clipiqa_plus_rn50_512"


@register_metric(
    _spec(
        "clipiqa_plus_vitl14_512",
        "clipiqa+_vitL14_512",
        "CLIP-IQA+ with pyiqa's fine-tuned ViT-L/14 prompts, position table resized to the input, 0-1",
    )
)
class CLIPIQAPlusViTL14512(CLIPIQAPlus):
    """CLIP-IQA+ with pyiqa's ``CLIPIQA+_ViTL14_512`` prompts (ViT-L/14, position table resized)."""

    release = "clipiqa_plus_vitl14_512"
