"""PickScore: human-preference score of an image for a prompt, ``exp(logit_scale) * cos(E_img, E_text)``.

Paper: Kirstain et al., "Pick-a-Pic: An Open Dataset of User Preferences for Text-to-Image
Generation", NeurIPS 2023. Released weights: ``yuvalkirstain/PickScore_v1`` on Hugging Face
(``model.safetensors``, a transformers ``CLIPModel``, ViT-H/14 fine-tuned from
``laion/CLIP-ViT-H-14-laion2B-s32B-b79K``; manifest ``pickscore_v1``). Reference implementation:
the authors' README (github.com/yuvalkirstain/PickScore): the laion repo's ``CLIPProcessor``
(images: shortest side to 224, bicubic, centre crop 224, CLIP mean/std; text: ``truncation=True,
max_length=77``), ``get_image_features`` / ``get_text_features``, both L2-normalised, times
``model.logit_scale.exp()``. The network and tokeniser: :mod:`iqa.models.pickscore`.

Input path: transformers 5's ``CLIPImageProcessor`` on uint8 pixels (torchvision bicubic with
antialias, short side to 224, long side ``int(224 * long / short)``, centre crop at
``int((h - 224) / 2)``): :func:`iqa.metrics.text.clipscore.preprocess` with ``resize="hf"``. Older
transformers (< 4.4x, the README's era) resized with PIL; ``resize="pil"`` gives that path.

Scale: ``exp(logit_scale)`` times a cosine; with the released weights matching pairs score around
20 (the paper compares scores of images for the same prompt; the softmax over a prompt's candidates
is the preference probability). Parity: tests/metrics/text/test_pickscore.py, against
``transformers.CLIPModel`` + ``CLIPProcessor`` on the same random ViT-H/14 state dict.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from iqa.checks import check_image
from iqa.errors import InputError
from iqa.features.clip import Resize
from iqa.features.clip import clip_pixels as preprocess
from iqa.metrics.base import DataRange, LongPrompts, TextImageMetric, compute_dtype
from iqa.models.pickscore import PickScoreCLIP, load_pickscore, pickscore_scores, token_counts, tokenize
from iqa.registry import MetricSpec, OfflineBuild, register_metric


def pickscore(
    img: torch.Tensor,
    text: Sequence[str],
    *,
    model: PickScoreCLIP,
    resize: Resize = "hf",
    data_range: float = 1.0,
) -> torch.Tensor:
    """PickScore per (image, prompt) pair, (N,): ``exp(logit_scale) * cos``; long prompts truncated silently.

    Args:
        img: images, (N, 3, H, W) in ``[0, data_range]``.
        text: one prompt per image.
        model: the network (:func:`iqa.models.pickscore.load_pickscore`).
        resize: image input path: "hf" (transformers 5's CLIPImageProcessor), "pil" (PIL bicubic, older
            transformers), "tensor" (float resize, differentiable).
        data_range: value of white in the input.
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,))
    if len(text) != img.shape[0]:
        raise InputError(f"pickscore: got {img.shape[0]} images but {len(text)} prompts")
    x = img.to(compute_dtype(img)) / data_range
    dtype = next(model.parameters()).dtype
    pixels = preprocess(x, model.image_size, resize).to(img.device, dtype)
    ids = tokenize(list(text), model.cfg.context_length).to(img.device)
    return pickscore_scores(model, pixels, ids).to(img.dtype)


@register_metric(
    MetricSpec(
        name="pickscore",
        kind="text",
        higher_is_better=True,
        value_range=(-100.0, 100.0),
        differentiable=False,
        color="rgb",
        paper="Kirstain et al., 'Pick-a-Pic: An Open Dataset of User Preferences for Text-to-Image Generation', "
        "NeurIPS 2023",
        reference_impl="yuvalkirstain/PickScore README: transformers CLIPModel (yuvalkirstain/PickScore_v1) + "
        "CLIPProcessor of laion/CLIP-ViT-H-14-laion2B-s32B-b79K, logit_scale.exp() * cos",
        tolerance="1e-3 absolute (scores of order 1-100) vs transformers 5 CLIPModel + CLIPProcessor on the same "
        "random ViT-H/14 state dict (float32 summation order over 32 blocks)",
        weights=("pickscore_v1",),
        offline=OfflineBuild(stand_ins=(("model", "pickscore_small_text"),)),
        summary="human-preference score of an image for its prompt, exp(logit_scale) * cos of PickScore_v1's "
        "CLIP-H/14 embeddings",
    )
)
class PickScore(TextImageMetric):
    """PickScore per (image, prompt) pair, (N,), higher is better (released scale ~20 for matching pairs).

    Args:
        resize: image input path: hf (transformers 5's CLIPImageProcessor, default), pil, tensor.
        long_prompts: a prompt over 77 tokens: truncate (as the release, with a warning) or refuse (InputError).
        weights: PickScore_v1's model.safetensors; None: the manifest entry pickscore_v1.
        model: a built network (:class:`iqa.models.pickscore.PickScoreCLIP`) to use instead.
    """

    function = staticmethod(pickscore)

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        resize: Resize = "hf",
        long_prompts: LongPrompts = "truncate",
        weights: str | Path | None = None,
        model: PickScoreCLIP | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        if model is not None and weights is not None:
            raise InputError("pickscore: pass either a built model or weights, not both")
        if model is not None and not isinstance(model, PickScoreCLIP):
            raise InputError(f"pickscore: model must be a PickScoreCLIP, got {type(model).__name__}")
        self.resize, self.long_prompts, self.weights = resize, long_prompts, weights
        self.model: Any = (model if model is not None else load_pickscore(weights)).eval()
        self.context_length = self.model.cfg.context_length  # type: ignore[misc]

    def token_counts(self, texts: list[str]) -> list[int]:
        return token_counts(texts)

    def score_pairs(self, img: torch.Tensor, texts: list[str], refs: list[list[str]] | None) -> torch.Tensor:
        return pickscore(img, texts, model=self.model, resize=self.resize, data_range=self.data_range)
