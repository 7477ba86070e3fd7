"""CLIP-IQA: how much more an image matches "Good photo." than "Bad photo." for OpenAI's CLIP.

Paper: Wang, Chan, Loy, "Exploring CLIP for Assessing the Look and Feel of Images", AAAI 2023.
Released weights: none of its own; OpenAI's CLIP RN50 archive (manifest ``clip_rn50_openai``, sha256
from OpenAI's URL). Reference implementation: the authors' ``IceClear/CLIP-IQA`` (``CLIPIQAFixed``,
``configs/clipiqa/clipiqa_attribute_test.py``); pyiqa 0.1.16's ``clipiqa`` (``pyiqa/archs/clipiqa_arch.py``)
is the runnable test-time reference (network and input path in :mod:`iqa.models.clipiqa`).

Two registered names, because the references disagree on the prompts:

- ``clipiqa``: the paper's and the release's pair, P("Good photo." | image) against "Bad photo.";
  ``attribute=`` picks another of the release's twelve pairs (brightness, sharpness, noisiness,
  colorfulness, contrast, aesthetic, happy, natural, new, scary, complex; see
  :data:`iqa.models.clipiqa.ATTRIBUTES`). An attribute's score is P(its first word): for
  ``noisiness`` ("Noisy photo." / "Clean photo.") and ``scary`` higher means more of it, not better.
- ``clipiqa_pyiqa``: what ``pyiqa.create_metric("clipiqa")`` returns, the mean of P(first) over
  pyiqa's five pairs ("Good image" / "bad image", "Sharp image" / "blurry image", ...).

Input path as released: the image at its own size (no resize), CLIP's mean/std; the release's
default position rule (none added in the attention pool; ``pos_embedding="resize"`` for the resized
table). Scores lie in [0, 1], one image at a time (no batch coupling).

Parity: ours and pyiqa's CLIPIQA loaded with the same seeded random RN50 state dict in OpenAI's
layout, scored end to end from the same PNG through each side's own loading, agree to 1e-5
(tests/metrics/nr/test_clipiqa.py, for the release's pair and for pyiqa's five).

CLIP-IQA+ (the same file: variants of one metric) learns 16 context vectors around the pair
(CoOp-style prompts trained on KonIQ-10k); the released prompt files as IQA-PyTorch hosts them
(https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/):

- ``clipiqa_plus`` = ``CLIP-IQA+_learned_prompts-603f3273.pth`` (the authors' prompts; a bare context
  tensor): RN50, no position embedding (the release's default);
- ``clipiqa_plus_rn50_512`` = ``CLIPIQA+_RN50_512-89f5d940.pth`` and ``clipiqa_plus_vitl14_512`` =
  ``CLIPIQA+_ViTL14_512-e66488f2.pth`` (pyiqa's fine-tuned prompts, ``{"params": prompt_learner.*}``
  with their own token embeddings): RN50 / ViT-L/14 with the position table resized to the input's
  token count (``pos_embedding=True`` in pyiqa's configuration).

Reference: the authors' ``CLIPIQAPredictor``/``PromptLearner`` (class words in the middle of the
context) and pyiqa 0.1.16's ``clipiqa+``, ``clipiqa+_rn50_512``, ``clipiqa+_vitL14_512``; parity to
1e-5 (RN50, both position rules) and 1e-4 (ViT-L/14) in tests/metrics/nr/test_clipiqa_plus.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, NRMetric, compute_dtype
from iqa.models.clipiqa import (
    ATTRIBUTES,
    PLUS_RELEASES,
    PYIQA_PAIRS,
    CLIPIQANet,
    Pair,
    PosEmbedding,
    load_clipiqa,
    load_clipiqa_plus,
)
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def clipiqa(
    img: torch.Tensor, *, model: CLIPIQANet, pairs: Sequence[Pair] | None = None, data_range: float = 1.0
) -> torch.Tensor:
    """CLIP-IQA score per image, (N,), in [0, 1]: P(first prompt) averaged over ``pairs``.

    Args:
        img: images to judge, (N, 3, H, W) in ``[0, data_range]``, at full size (no resize is applied).
        model: the CLIP-IQA network (its tower and prompt features ready).
        pairs: the pairs to read, each one of ``model.pairs``; None reads every pair of the model.
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,), min_size=model.min_size)
    cols = list(range(len(model.pairs))) if pairs is None else [_column(model, p) for p in pairs]
    # divide before the cast, so [0, 255] and [0, 1] inputs give the same pixels
    probs = model((img / data_range).to(model.text_features.dtype))
    return probs[:, cols].mean(1).to(compute_dtype(img))


def _column(model: CLIPIQANet, pair: Pair) -> int:
    if tuple(pair) not in model.pairs:
        raise InputError(f"the given CLIP-IQA network has no prompt pair {pair}; it holds {list(model.pairs)}")
    return model.pairs.index(tuple(pair))


_PAPER = "Wang, Chan & Loy, 'Exploring CLIP for Assessing the Look and Feel of Images', AAAI 2023"
_TOLERANCE = ("1e-5 absolute vs pyiqa's CLIPIQA with the same random RN50 state dict (float32; the attention "
              "pool reads one query here, all of them there: measured <= 3e-7); OpenAI's weights are not "
              "available offline")  # fmt: skip


def _spec(name: str, reference: str, summary: str) -> MetricSpec:
    return MetricSpec(
        name=name,
        kind="nr",
        higher_is_better=True,
        value_range=(0.0, 1.0),
        differentiable=True,
        color="rgb",
        paper=_PAPER,
        reference_impl=reference,
        tolerance=_TOLERANCE,
        weights=("clip_rn50_openai",),
        min_size=32,
        offline=OfflineBuild(stand_ins=(("model", "clipiqa_small_on_noise"),)),
        summary=summary,
    )


class _CLIPIQAMetric(NRMetric):
    """Shared body: the pairs to read and the network holding them."""

    def _setup(
        self,
        pairs: tuple[Pair, ...],
        backbone: str,
        pos_embedding: PosEmbedding | None,
        weights: str | Path | None,
        model: CLIPIQANet | None,
    ) -> None:
        self.backbone, self.weights = backbone, weights
        if model is None:
            model = load_clipiqa(pairs, backbone, weights, pos_embedding or "drop")
        elif model.prompt_learner is not None:
            raise InputError(f"{self.spec.name}: the given network has CLIP-IQA+ learned prompts; use clipiqa_plus")
        elif pos_embedding is not None and pos_embedding != model.pos_embedding:
            raise InputError(f"{self.spec.name}: the given network runs pos_embedding={model.pos_embedding!r}; "
                             f"leave the option unset or build it with {pos_embedding!r}")  # fmt: skip
        self.pos_embedding: PosEmbedding = model.pos_embedding
        for pair in pairs:
            _column(model, pair)  # refuse a network without these prompts now, not at the first image
        self.pairs = pairs
        self.model = model.eval()

    function = staticmethod(clipiqa)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return clipiqa(img, model=self.model, pairs=self.pairs, data_range=self.data_range)


@register_metric(
    _spec(
        "clipiqa",
        "IceClear/CLIP-IQA CLIPIQAFixed (RN50, 'Good photo.'/'Bad photo.', no position embedding); pyiqa 0.1.16 "
        "CLIPIQA run with that pair (pyiqa/archs/clipiqa_arch.py) as the test-time reference",
        "CLIP-IQA: P('Good photo.') vs 'Bad photo.' from OpenAI CLIP RN50 at full resolution, 0-1",
    )
)
class CLIPIQA(_CLIPIQAMetric):
    """CLIP-IQA score per image, (N,), in [0, 1]; higher is better for ``attribute="quality"``.

    Args:
        attribute: which of the release's prompt pairs (``iqa.models.clipiqa.ATTRIBUTES``): quality
            ("Good photo." / "Bad photo."), brightness, sharpness, noisiness, colorfulness, contrast,
            aesthetic, happy, natural, new, scary, complex; the score is P(the pair's first prompt).
        backbone: OpenAI CLIP tower by open_clip name (RN50 as released).
        pos_embedding: "drop" (the default, the release's: no position embedding at any size) or "resize" (the
            table resized bicubically to the token count, the release's ``pos_embedding=True``); None: "drop",
            or the given network's own rule.
        weights: OpenAI's archive of ``backbone`` (sha256-verified); None: through the weights manager.
        model: a ready :class:`iqa.models.clipiqa.CLIPIQANet` holding the attribute's pair.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        attribute: str = "quality",
        backbone: str = "RN50",
        pos_embedding: PosEmbedding | None = None,
        weights: str | Path | None = None,
        model: CLIPIQANet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        if attribute not in ATTRIBUTES:
            raise InputError(f"clipiqa: attribute must be one of {', '.join(ATTRIBUTES)}, got {attribute!r}")
        self.attribute = attribute
        self._setup((ATTRIBUTES[attribute],), backbone, pos_embedding, weights, model)


@register_metric(
    _spec(
        "clipiqa_pyiqa",
        "pyiqa 0.1.16 clipiqa (pyiqa/archs/clipiqa_arch.py: RN50, its five prompt pairs averaged, no position "
        "embedding)",
        "CLIP-IQA as pyiqa computes it: P(first) averaged over pyiqa's five antonym pairs, RN50, 0-1",
    )
)
class CLIPIQAPyIQA(_CLIPIQAMetric):
    """pyiqa's ``clipiqa`` per image, (N,), in [0, 1], higher is better: its five prompt pairs averaged.

    Args:
        backbone: OpenAI CLIP tower by open_clip name (RN50 as pyiqa).
        pos_embedding: "drop" (the default, pyiqa's) or "resize"; None: "drop", or the given network's own rule.
        weights: OpenAI's archive of ``backbone`` (sha256-verified); None: through the weights manager.
        model: a ready :class:`iqa.models.clipiqa.CLIPIQANet` holding pyiqa's five pairs.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        backbone: str = "RN50",
        pos_embedding: PosEmbedding | None = None,
        weights: str | Path | None = None,
        model: CLIPIQANet | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self._setup(PYIQA_PAIRS, backbone, pos_embedding, weights, model)


_PLUS_TOLERANCE = ("1e-5 absolute vs pyiqa's CLIPIQA (clipiqa+ model types) with the same random tower and prompt "
              "file, RN50 (measured <= 8e-7); 1e-4 for ViT-L/14 (24 blocks, fused attention here); OpenAI's "
              "and the prompt weights are not available offline")  # fmt: skip


def _plus_spec(name: str, pyiqa_name: str, summary: str) -> MetricSpec:
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
        tolerance=_PLUS_TOLERANCE,
        weights=("clip_vit_l14_openai" if vit else "clip_rn50_openai", prompt_id),
        min_size=14 if vit else 32,
        offline=OfflineBuild(stand_ins=(("model", "clipiqa_small_on_noise"),)),
        summary=summary,
    )


@register_metric(
    _plus_spec(
        "clipiqa_plus", "clipiqa+", "CLIP-IQA+: the authors' learned prompts on OpenAI CLIP RN50, full size, 0-1"
    )
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
    _plus_spec(
        "clipiqa_plus_rn50_512",
        "clipiqa+_rn50_512",
        "CLIP-IQA+ with pyiqa's fine-tuned RN50 prompts, position table resized to the input, 0-1",
    )
)
class CLIPIQAPlusRN50512(CLIPIQAPlus):
    """CLIP-IQA+ with pyiqa's ``CLIPIQA+_RN50_512`` prompts (RN50, position table resized)."""

    release = "clipiqa_plus_rn50_512"


@register_metric(
    _plus_spec(
        "clipiqa_plus_vitl14_512",
        "clipiqa+_vitL14_512",
        "CLIP-IQA+ with pyiqa's fine-tuned ViT-L/14 prompts, position table resized to the input, 0-1",
    )
)
class CLIPIQAPlusViTL14512(CLIPIQAPlus):
    """CLIP-IQA+ with pyiqa's ``CLIPIQA+_ViTL14_512`` prompts (ViT-L/14, position table resized)."""

    release = "clipiqa_plus_vitl14_512"
