"""CLIPScore: image-caption agreement from CLIP, ``w * max(cos(E_img, E_text), 0)`` per pair.

Paper: Hessel, Holtzman, Forbes, Le Bras and Choi, "CLIPScore: A Reference-free Evaluation Metric
for Image Captioning", EMNLP 2021. Reference implementation: github.com/jmhessel/clipscore
(``clipscore.py``, MIT): OpenAI's ViT-B/32, captions prefixed with ``"A photo depicts "`` and
tokenised by ``clip.tokenize(..., truncate=True)``, images through torchvision's ``Resize(224,
BICUBIC)`` + ``CenterCrop(224)`` on the PIL image (OpenAI's input path), both embeddings
L2-normalised, ``w = 2.5``. RefCLIPScore (same file, ``main``): the harmonic mean of CLIPScore and
the largest cosine between the caption and its references (references carry the same prefix);
the paper clips that cosine at 0 (``max(., 0)``), which we do too (the code does not, which only
matters for a negative text-text cosine, where its harmonic mean leaves [0, 2.5]); 0 when both
terms are 0 (the code divides 0 by 0).

Weights: OpenAI's released ViT-B/32 TorchScript archive (manifest ``clip_vit_b32_openai``, sha256
from OpenAI's URL, MIT), read through :func:`iqa.features.clip.load_openai_clip`; open_clip builds
both towers from it and tokenises (its ``SimpleTokenizer`` equals ``clip.tokenize(truncate=True)``
on long, unicode and empty prompts: tests/metrics/text/test_clipscore.py).

Long prompts (CLIP reads 77 tokens, start and end included): cut as the reference does (the first
76 tokens, the 77th replaced by the end token) and reported (a :class:`PromptTruncatedWarning`, or
the row's ``truncated`` column in a folder job); ``long_prompts="refuse"`` raises instead.

Variants where peers differ (each reproduces one reference, checked on the same random weights):

- ``clipscore``: Hessel's release, as above. ``resize="tensor"`` reproduces pyiqa's ``clipscore``
  (``pyiqa/archs/clipscore_arch.py``: the same tower, prefix, ``w`` and tokeniser, but the image is
  resized as a float tensor, torchvision bicubic with antialias, no uint8 rounding; differentiable).
- ``clipscore_torchmetrics``: torchmetrics' ``CLIPScore`` (``100 * cos``, floored at 0, no prefix;
  default tower ``openai/clip-vit-large-patch14`` = OpenAI's ViT-L/14, manifest ``clip_vit_l14_openai``;
  the HF ``CLIPImageProcessor`` input path of transformers 5: uint8 tensor, torchvision.transforms.v2
  bicubic antialiased resize of the short side to 224, centre crop at ``int((h - 224) / 2)``).
  torchmetrics 1.9 itself fails on transformers 5 (``get_image_features`` now returns an output
  object, not a tensor); the parity test hands it the projected embedding (``pooler_output``). torchmetrics
  floors the *mean* over its samples at 0; per image, as here, that is each pair's score. Prompts over
  77 tokens differ: torchmetrics slices the token ids to 77, dropping the end token, so the text
  feature is read at another position than an end token; we keep OpenAI's truncation (end token
  kept) and report it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from iqa.checks import check_image
from iqa.errors import InputError, MissingDependencyError
from iqa.features.clip import Resize, load_openai_clip
from iqa.features.clip import clip_pixels as preprocess
from iqa.features.clip_forward import image_embedding, text_embedding
from iqa.metrics.base import DataRange, LongPrompts, TextImageMetric, compute_dtype
from iqa.registry import MetricSpec, OfflineBuild, register_metric

PREFIX = "A photo depicts"  # jmhessel/clipscore CLIPCapDataset(prefix='A photo depicts')


@functools.cache
def _tokenizer() -> Any:
    try:
        from open_clip.tokenizer import SimpleTokenizer
    except ImportError as e:
        raise MissingDependencyError("clipscore needs open_clip: pip install 'iqa[clip]'") from e
    return SimpleTokenizer()


def with_prefix(text: str, prefix: str) -> str:
    """The caption as the reference tokenises it: ``prefix + ' ' + text`` (no space added twice; none without a prefix)."""
    if not prefix:
        return text
    return (prefix if prefix.endswith(" ") else prefix + " ") + text


def token_counts(texts: Sequence[str], prefix: str = PREFIX) -> list[int]:
    """Tokens each caption takes before truncation: start + BPE tokens of the prefixed caption + end."""
    tok = _tokenizer()
    return [len(tok.encode(with_prefix(t, prefix))) + 2 for t in texts]


def tokenize(texts: Sequence[str], prefix: str = PREFIX, context_length: int = 77) -> torch.Tensor:
    """(N, context_length) token ids as ``clip.tokenize(prefix + text, truncate=True)``: zero-padded;
    a longer caption keeps its first ``context_length - 1`` tokens and ends with the end token.
    """
    tok = _tokenizer()
    out = torch.zeros(len(texts), context_length, dtype=torch.long)
    for i, t in enumerate(texts):
        ids = [tok.sot_token_id, *tok.encode(with_prefix(t, prefix)), tok.eot_token_id]
        if len(ids) > context_length:
            ids = ids[:context_length]
            ids[-1] = tok.eot_token_id
        out[i, : len(ids)] = torch.tensor(ids)
    return out


def _image_size(model: Any) -> int:
    size = model.visual.image_size
    return int(size[0] if isinstance(size, (tuple, list)) else size)


def _embed_text(model: Any, texts: Sequence[str], prefix: str, device: torch.device) -> torch.Tensor:
    ctx = int(getattr(model, "context_length", 77))
    return F.normalize(text_embedding(model, tokenize(texts, prefix, ctx).to(device)).float(), dim=-1)


def clipscore(
    img: torch.Tensor,
    text: Sequence[str],
    *,
    model: Any,
    refs: Sequence[Sequence[str]] | None = None,
    w: float = 2.5,
    prefix: str = PREFIX,
    resize: Resize = "pil",
    data_range: float = 1.0,
) -> torch.Tensor:
    """CLIPScore per (image, caption) pair, ``w * max(cos, 0)``; RefCLIPScore when ``refs`` are given.

    Prompts longer than the text tower's context are truncated here without a warning (the metric
    class reports them).

    Args:
        img: images, (N, 3, H, W) in ``[0, data_range]``.
        text: one caption per image.
        model: an open_clip CLIP model (``encode_image``, ``encode_text``), e.g. OpenAI's ViT-B/32.
        refs: reference captions per image (RefCLIPScore: harmonic mean with the best reference cosine).
        w: the weight on the cosine (Hessel: 2.5).
        prefix: text put before each caption and reference (Hessel: "A photo depicts"; "" for none).
        resize: the image input path: "pil" (Hessel's), "tensor" (pyiqa's) or "hf" (transformers').
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """
    img = check_image(img, "img", data_range=data_range, channels=(3,))
    if len(text) != img.shape[0]:
        raise InputError(f"clipscore: got {img.shape[0]} images but {len(text)} prompts")
    x = img.to(compute_dtype(img)) / data_range
    dtype = next(model.parameters()).dtype
    pixels = preprocess(x, _image_size(model), resize).to(img.device, dtype)
    e_img = F.normalize(image_embedding(model.visual, pixels).float(), dim=-1)
    e_txt = _embed_text(model, text, prefix, img.device)
    score = w * (e_img * e_txt).sum(-1).clamp_min(0)
    if refs is not None:
        best = torch.stack([(_embed_text(model, r, prefix, img.device) @ c).max() for r, c in zip(refs, e_txt)])
        best = best.clamp_min(0)
        total = score + best
        score = torch.where(total > 0, 2 * score * best / total.clamp_min(1e-12), torch.zeros_like(total))
    return score.to(img.dtype)


class _CLIPScoreBase(TextImageMetric):
    tower = "ViT-B-32"
    w = 2.5
    prefix = PREFIX
    takes_refs = True

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        resize: Resize = "pil",
        long_prompts: LongPrompts = "truncate",
        weights: str | Path | None = None,
        model: torch.nn.Module | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        if model is not None and weights is not None:
            raise InputError(f"{self._name()}: pass either a built model or weights, not both")
        self.resize, self.long_prompts, self.weights = resize, long_prompts, weights
        model = model if model is not None else load_openai_clip(self.tower, weights)
        if not (hasattr(model, "encode_image") and hasattr(model, "encode_text")):
            raise InputError(f"{self._name()}: model must be an open_clip CLIP model (encode_image, encode_text)")
        self.model: Any = model.eval()
        self.context_length = int(getattr(model, "context_length", 77))  # type: ignore[misc]

    def token_counts(self, texts: list[str]) -> list[int]:
        return token_counts(texts, self.prefix)

    def score_pairs(self, img: torch.Tensor, texts: list[str], refs: list[list[str]] | None) -> torch.Tensor:
        return clipscore(img, texts, model=self.model, refs=refs, w=self.w, prefix=self.prefix,
                         resize=self.resize, data_range=self.data_range)  # fmt: skip


@register_metric(
    MetricSpec(
        name="clipscore",
        kind="text",
        higher_is_better=True,
        value_range=(0.0, 2.5),
        differentiable=False,
        color="rgb",
        paper="Hessel et al., 'CLIPScore: A Reference-free Evaluation Metric for Image Captioning', EMNLP 2021",
        reference_impl="jmhessel/clipscore clipscore.py (ViT-B/32, 'A photo depicts ' prefix, w=2.5, "
        "clip.tokenize(truncate=True), PIL bicubic + centre crop); resize='tensor' = pyiqa clipscore",
        tolerance="1e-5 absolute vs the reference formula on openai/CLIP's model and preprocessing, and vs "
        "pyiqa (resize='tensor'), same random ViT-B/32 weights (float32 summation order)",
        weights=("clip_vit_b32_openai",),
        offline=OfflineBuild(stand_ins=(("model", "clip_small_text"),)),
        summary="image-caption agreement, 2.5 * max(cos, 0) of OpenAI CLIP ViT-B/32 embeddings; RefCLIPScore with refs",
    )
)
class CLIPScore(_CLIPScoreBase):
    """CLIPScore per (image, prompt) pair, (N,), higher is better (0-2.5); RefCLIPScore given ``refs``.

    Args:
        resize: image input path: pil (Hessel's release), tensor (pyiqa's float resize), hf (transformers').
        long_prompts: a prompt over 77 tokens: truncate (as the release, with a warning) or refuse (InputError).
        weights: OpenAI's ViT-B-32.pt (sha256-verified); None: the manifest entry clip_vit_b32_openai.
        model: an open_clip CLIP model to use instead (both towers); None loads OpenAI's ViT-B/32.
    """

    function = staticmethod(clipscore)


@register_metric(
    MetricSpec(
        name="clipscore_torchmetrics",
        kind="text",
        higher_is_better=True,
        value_range=(0.0, 100.0),
        differentiable=False,
        color="rgb",
        paper="Hessel et al., 'CLIPScore: A Reference-free Evaluation Metric for Image Captioning', EMNLP 2021 "
        "(torchmetrics' variant: 100 * cos, no prefix, ViT-L/14)",
        reference_impl="torchmetrics.multimodal.CLIPScore (1.9, default openai/clip-vit-large-patch14 through "
        "transformers 5's CLIPProcessor), per image",
        tolerance="1e-4 absolute (scores of order 1-100, float32) vs torchmetrics 1.9 on transformers' CLIPModel "
        "holding the same random ViT-B/32 (openai/clip-vit-base-patch32's architecture; ViT-L/14 differs in size only)",
        weights=("clip_vit_l14_openai",),
        offline=OfflineBuild(stand_ins=(("model", "clip_small_text"),)),
        summary="torchmetrics' CLIPScore: 100 * max(cos, 0) of OpenAI CLIP ViT-L/14 embeddings, no prompt prefix",
    )
)
class CLIPScoreTorchmetrics(_CLIPScoreBase):
    """torchmetrics' CLIPScore per (image, prompt) pair, (N,), higher is better (0-100).

    Args:
        resize: image input path: hf (transformers' CLIPImageProcessor, as torchmetrics), pil, tensor.
        long_prompts: a prompt over 77 tokens: truncate (OpenAI's way, with a warning) or refuse (InputError).
        weights: OpenAI's ViT-L-14.pt (sha256-verified); None: the manifest entry clip_vit_l14_openai.
        model: an open_clip CLIP model to use instead (both towers); None loads OpenAI's ViT-L/14.
    """

    tower = "ViT-L-14"
    w = 100.0
    prefix = ""
    takes_refs = False

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        resize: Resize = "hf",
        long_prompts: LongPrompts = "truncate",
        weights: str | Path | None = None,
        model: torch.nn.Module | None = None,
    ) -> None:
        super().__init__(data_range=data_range, resize=resize, long_prompts=long_prompts, weights=weights, model=model)

    function = staticmethod(clipscore)
