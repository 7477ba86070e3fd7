"""HPSv2: Human Preference Score v2 of an image for a prompt, the cosine of HPS-tuned CLIP-H/14 embeddings.

Paper: Wu et al., "Human Preference Score v2: A Solid Benchmark for Evaluating Human Preferences of
Text-to-Image Synthesis", arXiv 2306.09341, 2023. Reference implementation: github.com/tgxs002/HPSv2
(PyPI ``hpsv2`` 1.2.0, ``hpsv2.score``): open_clip ViT-H-14 with the released checkpoint, the
release's ``preprocess_val`` (longest side to 224, zero padding to a square, CLIP mean/std),
``get_tokenizer('ViT-H-14')``, and the diagonal of ``image_features @ text_features.T`` of the
L2-normalised features: a cosine, no ``logit_scale`` (released-model scores ~0.2-0.3).

Variants (the released checkpoints on Hugging Face ``xswu/HPSv2``): ``hpsv2`` = HPS v2.0
(``HPS_v2_compressed.pt``, the package's default ``hps_version="v2.0"``), ``hpsv21`` = HPS v2.1
(``HPS_v2.1_compressed.pt``). Network, input path and tokeniser: :mod:`iqa.models.hpsv2`. Parity:
tests/metrics/text/test_hpsv2.py, against the package's vendored open_clip model, transform and
tokenizer on the same random ViT-H/14 state dict (float32; the release runs fp16 autocast on CUDA).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.metrics.base import DataRange, LongPrompts, TextImageMetric, compute_dtype
from iqa.models.hpsv2 import Version, hpsv2_scores, letterbox, load_hpsv2, token_counts, tokenize
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def _image_size(model: Any) -> int:
    size = model.visual.image_size
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def hpsv2(img: torch.Tensor, text: Sequence[str], *, model: Any, data_range: float = 1.0) -> torch.Tensor:
    """HPSv2 per (image, prompt) pair, (N,): the cosine of the normalised embeddings; long prompts truncated silently.

    Args:
        img: images, (N, 3, H, W) in ``[0, data_range]``.
        text: one prompt per image.
        model: an open_clip CLIP model with HPS weights (:func:`iqa.models.hpsv2.load_hpsv2`).
        data_range: value of white in the input.
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,))
    if len(text) != img.shape[0]:
        raise InputError(f"hpsv2: got {img.shape[0]} images but {len(text)} prompts")
    x = img.to(compute_dtype(img)) / data_range
    dtype = next(model.parameters()).dtype
    pixels = letterbox(x, _image_size(model)).to(img.device, dtype)
    ids = tokenize(list(text), int(getattr(model, "context_length", 77))).to(img.device)
    return hpsv2_scores(model, pixels, ids).to(img.dtype)


_SPEC = dict(
    kind="text",
    higher_is_better=True,
    value_range=(-1.0, 1.0),
    differentiable=True,
    color="rgb",
    paper="Wu et al., 'Human Preference Score v2: A Solid Benchmark for Evaluating Human Preferences of "
    "Text-to-Image Synthesis', arXiv 2306.09341, 2023",
    tolerance="1e-5 absolute (cosines) vs the hpsv2 package's vendored open_clip ViT-H-14, preprocess_val and "
    "tokenizer on the same random state dict (float32)",
    offline=OfflineBuild(stand_ins=(("model", "clip_small_text"),)),
)


class _HPSv2Base(TextImageMetric):
    version: ClassVar[Version] = "v2.0"

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        long_prompts: LongPrompts = "truncate",
        weights: str | Path | None = None,
        model: torch.nn.Module | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        if model is not None and weights is not None:
            raise InputError(f"{self._name()}: pass either a built model or weights, not both")
        self.long_prompts, self.weights = long_prompts, weights
        model = model if model is not None else load_hpsv2(self.version, weights)
        if not (hasattr(model, "encode_image") and hasattr(model, "encode_text")):
            raise InputError(f"{self._name()}: model must be an open_clip CLIP model (encode_image, encode_text)")
        self.model: Any = model.eval()
        self.context_length = int(getattr(model, "context_length", 77))  # type: ignore[misc]

    def token_counts(self, texts: list[str]) -> list[int]:
        return token_counts(texts)

    def score_pairs(self, img: torch.Tensor, texts: list[str], refs: list[list[str]] | None) -> torch.Tensor:
        return hpsv2(img, texts, model=self.model, data_range=self.data_range)


@register_metric(
    MetricSpec(
        name="hpsv2",
        reference_impl="tgxs002/HPSv2 (PyPI hpsv2 1.2.0) hpsv2.score(hps_version='v2.0'): vendored open_clip "
        "ViT-H-14, HPS_v2_compressed.pt, preprocess_val (ResizeMaxSize 224 + zero pad), diagonal of image @ text",
        weights=("hpsv2_v2.0",),
        summary="Human Preference Score v2.0: cosine of HPS-tuned open_clip ViT-H/14 image and prompt embeddings",
        **_SPEC,  # type: ignore[arg-type]
    )
)
class HPSv2(_HPSv2Base):
    """HPS v2.0 per (image, prompt) pair, (N,), higher is better (a cosine; ~0.2-0.3 with the release).

    Args:
        long_prompts: a prompt over 77 tokens: truncate (as the release, with a warning) or refuse (InputError).
        weights: HPS_v2_compressed.pt; None: the manifest entry hpsv2_v2.0.
        model: an open_clip CLIP model to use instead (e.g. :func:`iqa.models.hpsv2.build_hpsv2`).
    """

    function = staticmethod(hpsv2)
    version = "v2.0"


@register_metric(
    MetricSpec(
        name="hpsv21",
        reference_impl="tgxs002/HPSv2 (PyPI hpsv2 1.2.0) hpsv2.score(hps_version='v2.1'): vendored open_clip "
        "ViT-H-14, HPS_v2.1_compressed.pt, preprocess_val (ResizeMaxSize 224 + zero pad), diagonal of image @ text",
        weights=("hpsv2_v2.1",),
        summary="Human Preference Score v2.1: cosine of HPS-tuned open_clip ViT-H/14 image and prompt embeddings",
        **_SPEC,  # type: ignore[arg-type]
    )
)
class HPSv21(_HPSv2Base):
    """HPS v2.1 per (image, prompt) pair, (N,), higher is better (a cosine).

    Args:
        long_prompts: a prompt over 77 tokens: truncate (as the release, with a warning) or refuse (InputError).
        weights: HPS_v2.1_compressed.pt; None: the manifest entry hpsv2_v2.1.
        model: an open_clip CLIP model to use instead (e.g. :func:`iqa.models.hpsv2.build_hpsv2`).
    """

    function = staticmethod(hpsv2)
    version = "v2.1"
