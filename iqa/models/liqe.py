"""LIQE's network: OpenAI CLIP ViT-B/32 fine-tuned to match images with quality prompts.

Paper: Zhang, Zhai, Wei, Yang, Ma, "Blind Image Quality Assessment via Vision-Language
Correspondence: A Multitask Learning Perspective", CVPR 2023. Reference implementation:
``zwx8981/LIQE`` (``LIQE.py``, ``train_unique_clip_weight.py``); pyiqa's ``liqe_arch.py`` is the
port whose converted files users download.

The network is CLIP ViT-B/32 as OpenAI released it (224 px, QuickGELU), built with open_clip
(``iqa[clip]``) in the key layout of the released files: pyiqa's ``liqe_koniq.pt`` and
``liqe_mix.pt`` hold ``{"params": {"clip_model.<OpenAI CLIP key>": ...}}`` and the authors'
``LIQE.pt`` the bare CLIP state dict; both load strictly (:func:`read_release`).

The prompts are fixed by the release, so their text embeddings are computed once when the weights
are loaded (:meth:`LIQENet.refresh_text_features`), L2-normalised, and kept as a buffer (and in the
user cache, ``$IQA_CACHE_DIR/liqe``, named by the weights file's sha256, for the next load):

- ``koniq`` (pyiqa's ``liqe``, single task): ``"a photo with {q} quality"`` for the 5 levels;
- ``mix`` (the authors' multitask model, pyiqa's ``liqe_mix``): ``"a photo of a {scene} with
  {distortion} artifacts, which is of {q} quality"`` over 5 levels x 9 scenes x 11 distortions, in
  ``itertools.product(levels, scenes, distortions)`` order (495 prompts).

The text tower is causal and pools the end-of-text token, so the tokens after the longest prompt's
end cannot change any embedding: encoding stops there (~20 of the 77 positions; the same numbers
as the full context, at a quarter of the cost).
"""

from __future__ import annotations

from itertools import product
from pathlib import Path
from typing import Any, Literal, get_args

import torch
from torch import nn

from iqa.errors import InputError, WeightsError
from iqa.features.clip import open_clip_module
from iqa.features.clip_forward import image_embedding, text_embedding

Variant = Literal["koniq", "mix"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)

QUALITY_LEVELS = ("bad", "poor", "fair", "good", "perfect")  # scores 1..5
SCENES = ("animal", "cityscape", "human", "indoor", "landscape", "night", "plant", "still_life", "others")
DISTORTIONS = (
    "jpeg2000 compression", "jpeg compression", "noise", "blur", "color", "contrast", "overexposure",
    "underexposure", "spatial", "quantization", "other",
)  # fmt: skip
RELEASES = {"koniq": "liqe_koniq.pt", "mix": "liqe_mix.pt"}
PATCH = 224  # the released patches (CLIP ViT-B/32's input size)


def prompts(variant: Variant) -> list[str]:
    """The released prompts of ``variant``, in the release's order (quality slowest for ``mix``)."""
    if variant == "mix":
        return [
            f"a photo of a {c} with {d} artifacts, which is of {q} quality"
            for q, c, d in product(QUALITY_LEVELS, SCENES, DISTORTIONS)
        ]
    return [f"a photo with {q} quality" for q in QUALITY_LEVELS]


def tokenize(texts: list[str]) -> torch.Tensor:
    """CLIP's BPE tokens (N, 77), as openai/CLIP ``clip.tokenize`` gives them for these prompts."""
    return open_clip_module("liqe").tokenize(texts)


def clip_vit_b32(**sizes: int) -> nn.Module:
    """OpenAI's CLIP ViT-B/32 architecture (open_clip, QuickGELU), float32; ``sizes`` shrink it (stand-ins)."""
    oc = open_clip_module("liqe")
    v = {"layers": 12, "width": 768, "patch_size": 32, "heads_v": 12}
    t = {"text_layers": 12, "text_width": 512, "text_heads": 8, "embed_dim": 512}
    v.update({k: sizes[k] for k in v if k in sizes})
    t.update({k: sizes[k] for k in t if k in sizes})
    vision = oc.model.CLIPVisionCfg(
        layers=v["layers"], width=v["width"], patch_size=v["patch_size"], image_size=PATCH,
        head_width=v["width"] // v["heads_v"],
    )  # fmt: skip
    text = oc.model.CLIPTextCfg(
        context_length=77, vocab_size=49408, width=t["text_width"], heads=t["text_heads"], layers=t["text_layers"]
    )
    return oc.model.CLIP(t["embed_dim"], vision_cfg=vision, text_cfg=text, quick_gelu=True)


def causal_mask(n: int, device: torch.device | None = None) -> torch.Tensor:
    """CLIP's additive causal attention mask for ``n`` text positions."""
    return torch.full((n, n), float("-inf"), device=device).triu_(1)


class LIQENet(nn.Module):
    """CLIP (as ``clip_model``, the released key prefix) and the variant's prompt embeddings.

    Args:
        variant: koniq (5 quality prompts) or mix (495 quality x scene x distortion prompts).
        clip_model: an open_clip CLIP with a 224 px image tower; None builds ViT-B/32 (random until loaded).
    """

    def __init__(self, variant: Variant = "koniq", clip_model: nn.Module | None = None) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise InputError(f"liqe: variant must be one of {VARIANTS}, got {variant!r}")
        self.variant: Variant = variant
        self.clip_model: Any = clip_model if clip_model is not None else clip_vit_b32()
        self.register_buffer("text_features", torch.empty(0), persistent=False)

    @property
    def dtype(self) -> torch.dtype:
        return self.clip_model.visual.conv1.weight.dtype

    @torch.no_grad()
    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        """CLIP's text embeddings of ``tokens`` (N, 77), unnormalised, computed up to the last end token."""
        return text_embedding(self.clip_model, tokens)

    def refresh_text_features(self) -> None:
        """Recompute the prompts' normalised embeddings from the text tower (after loading weights)."""
        f = self.encode_text(tokenize(prompts(self.variant)))
        self.text_features = f / f.norm(dim=-1, keepdim=True)

    def encode_image(self, patches: torch.Tensor) -> torch.Tensor:
        """CLIP's image embeddings (P, D) of (P, 3, 224, 224) normalised patches, as ``encode_image``
        (:func:`iqa.features.clip_forward.image_embedding`: the last block for the class token alone).
        """
        return image_embedding(self.clip_model.visual, patches)

    def patch_logits(self, patches: torch.Tensor) -> torch.Tensor:
        """(P, 3, 224, 224) CLIP-normalised patches -> (P, prompts) scaled cosine similarities."""
        f = self.encode_image(patches.to(self.dtype))
        f = f / f.norm(dim=-1, keepdim=True)
        return self.clip_model.logit_scale.exp() * f @ self.text_features.to(f.dtype).T


def read_release(path: str | Path, variant: Variant | None = None) -> dict[str, torch.Tensor]:
    """A released LIQE file's CLIP state dict (OpenAI key names), read with ``weights_only=True``.

    pyiqa's files wrap it as ``{"params": {"clip_model.*": ...}}``; the authors' ``LIQE.pt`` is bare.
    """
    from iqa.weights.converted import read_release_checkpoint, strip_module

    expected = f"Expected the released LIQE file {RELEASES[variant]}." if variant else ""
    state = read_release_checkpoint(Path(path), expected)
    if "params" in state and isinstance(state["params"], dict):
        state = state["params"]
    state = strip_module(state)
    return {k.removeprefix("clip_model."): v for k, v in state.items()}


def load_liqe(variant: Variant, path: str | Path) -> LIQENet:
    """The released network of ``variant`` with the file at ``path`` loaded strictly, prompts encoded, eval mode."""
    with torch.device("meta"):  # no random init of 151M parameters that the file replaces
        net = LIQENet(variant)
    state = {k: v.float().contiguous() for k, v in read_release(path, variant).items()}
    for key in ("input_resolution", "context_length", "vocab_size"):  # OpenAI archives' extra entries
        state.pop(key, None)
    try:
        net.clip_model.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise WeightsError(f"{path} does not fit LIQE's CLIP ViT-B/32 ({RELEASES[variant]} layout): {e}") from e
    net.clip_model.attn_mask = causal_mask(77)  # open_clip's non-persistent buffer, else left on meta
    net.text_features = torch.empty(0)
    cached = _text_cache(variant, Path(path))
    shape = (len(prompts(variant)), net.clip_model.text_projection.shape[1])
    features = torch.load(cached, map_location="cpu", weights_only=True) if cached.is_file() else None
    if isinstance(features, torch.Tensor) and features.shape == shape:
        net.text_features = features
    else:
        net.refresh_text_features()
        _save_text_features(cached, net.text_features)
    return net.eval()


def _text_cache(variant: Variant, path: Path) -> Path:
    """Where the prompts' embeddings of the file at ``path`` are kept: named by the file's sha256 and
    the prompts' (the 495 ``mix`` prompts take seconds to encode on a CPU; pyiqa caches them too).
    """
    import hashlib

    from iqa.weights.store import cache_dir, sha256_file

    key = hashlib.sha256("\n".join(prompts(variant)).encode()).hexdigest()[:12]
    return cache_dir().parent / "liqe" / f"text_{variant}_{sha256_file(path)[:16]}_{key}.pt"


def _save_text_features(dest: Path, features: torch.Tensor) -> None:
    from iqa.atomic import atomic_write

    try:
        atomic_write(dest, lambda f: torch.save(features.clone(), f))
    except OSError:  # a read-only cache only costs the encoding next time
        pass
