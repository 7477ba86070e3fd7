"""CLIP image embeddings: OpenAI's released towers, with OpenAI's or CMMD's preprocessing.

Paper: Radford et al., "Learning Transferable Visual Models From Natural Language Supervision",
ICML 2021; reference implementation openai/CLIP (``clip.py``: ``_MODELS``, ``_transform``), run
here through open_clip (extra ``iqa[clip]``), whose ``build_model_from_openai_state_dict`` reads
OpenAI's archives. Every tower is a manifest entry whose sha256 is the one in OpenAI's URL; the
TorchScript archive is opened only after that hash is verified, and only its tensors are used.

Two input paths, both on uint8 pixels through PIL so they are the references' bit for bit:

- ``"openai"`` (openai/CLIP ``_transform``, open_clip ``image_transform``): bicubic resize of the
  short side to ``size`` (long side ``int(size * long / short)``), centre crop with
  ``round((h - size) / 2)``, /255, CLIP mean/std.
- ``"cmmd"`` (google-research ``cmmd/io_util.py``; Jayasumana et al., CVPR 2024): centre crop to a
  square first (``(w - side) // 2``), then bicubic resize to ``size``, /255, CLIP mean/std.

Features are the image tower's raw output (CLS after ``ln_post`` and ``proj`` for ViTs, attention
pooling for ResNets), as clean-fid's ``CLIP_fx`` returns them for FD on CLIP; CMMD and the
``mmd_*`` metrics L2-normalise them, as the CMMD reference does.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from PIL import Image

from iqa.errors import InputError, MissingDependencyError
from iqa.features.base import FeatureExtractor
from iqa.features.clip_forward import image_embedding
from iqa.weights import resolve_weights

Preprocess = Literal["openai", "cmmd"]
Resize = Literal["pil", "tensor", "hf"]  # input paths of the CLIP scores (clip_pixels)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

# open_clip model name -> weights-manifest id (OpenAI's released towers).
OPENAI_TOWERS = {
    "RN50": "clip_rn50_openai",
    "RN101": "clip_rn101_openai",
    "RN50x4": "clip_rn50x4_openai",
    "RN50x16": "clip_rn50x16_openai",
    "RN50x64": "clip_rn50x64_openai",
    "ViT-B-32": "clip_vit_b32_openai",
    "ViT-B-16": "clip_vit_b16_openai",
    "ViT-L-14": "clip_vit_l14_openai",
    "ViT-L-14-336": "clip_vit_l14_336_openai",
}


def _crop_resize_cmmd(pil: Image.Image, size: int) -> Image.Image:
    w, h = pil.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return pil.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BICUBIC)


def _resize_crop_openai(pil: Image.Image, size: int) -> Image.Image:
    w, h = pil.size
    if w <= h:
        nw, nh = size, int(size * h / w)
    else:
        nw, nh = int(size * w / h), size
    pil = pil.resize((nw, nh), Image.Resampling.BICUBIC)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    return pil.crop((left, top, left + size, top + size))


_GEOMETRY: dict[str, Callable[[Image.Image, int], Image.Image]] = {
    "cmmd": _crop_resize_cmmd,
    "openai": _resize_crop_openai,
}


def clip_preprocess(x: torch.Tensor, size: int, path: Preprocess = "openai") -> torch.Tensor:
    """(N, 3, H, W) float in [0, 1] -> (N, 3, size, size) CLIP-normalised, by the named path."""
    if path not in _GEOMETRY:
        raise InputError(f"preprocess must be one of {sorted(_GEOMETRY)}, got {path!r}")
    geometry = _GEOMETRY[path]
    out = []
    for img in x:
        a = np.asarray(torch.round(img.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).cpu())
        pil = geometry(Image.fromarray(a), size)
        out.append(torch.from_numpy(np.asarray(pil).astype(np.float32) / 255.0))
    t = torch.stack(out).permute(0, 3, 1, 2)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return ((t - mean) / std).to(x.device)


def _normalise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(CLIP_MEAN, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device, dtype=x.dtype).view(1, 3, 1, 1)
    return (x - mean) / std


def _short_side(h: int, w: int, size: int) -> list[int]:
    # torchvision Resize(int) / HF shortest_edge: the short side to size, the long one int(size * long / short)
    return [size, int(size * w / h)] if h <= w else [int(size * h / w), size]


def clip_pixels(x: torch.Tensor, size: int, resize: Resize = "pil") -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 3, size, size) CLIP-normalised, float32, by the named input path
    of a CLIP-based score (CLIPScore, PickScore: which reference each reproduces is in their docs).

    ``"pil"``: Hessel's (OpenAI's) PIL bicubic on uint8 pixels, centre crop at ``round``;
    ``"tensor"``: pyiqa's torchvision bicubic + antialias on the float tensor (differentiable);
    ``"hf"``: transformers 5's ``CLIPImageProcessor``: torchvision.transforms.v2 bicubic + antialias
    on uint8 pixels, centre crop at ``int((h - size) / 2)``.
    """
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as TF

    if resize == "pil":
        return clip_preprocess(x.float(), size, "openai")
    h, w = x.shape[-2:]
    new = _short_side(h, w, size)
    if resize == "tensor":
        y = TF.resize(x.float(), new, interpolation=InterpolationMode.BICUBIC, antialias=True)
        return _normalise(TF.center_crop(y, [size, size]))
    if resize == "hf":
        from torchvision.transforms.v2 import functional as TF2  # its uint8 bicubic differs from v1's by 1-3 levels

        u8 = torch.round(x.float().clamp(0, 1) * 255).to(torch.uint8)
        y = TF2.resize(u8, new, interpolation=InterpolationMode.BICUBIC, antialias=True)
        top, left = int((y.shape[-2] - size) / 2.0), int((y.shape[-1] - size) / 2.0)
        return _normalise(y[..., top : top + size, left : left + size].float() / 255.0)
    raise InputError(f"resize must be one of 'pil', 'tensor', 'hf', got {resize!r}")


def cmmd_preprocess(x: torch.Tensor, size: int = 336) -> torch.Tensor:
    """CMMD's reference input path (centre square crop, then PIL bicubic to ``size``)."""
    return clip_preprocess(x, size, "cmmd")


def open_clip_module(user: str = "CLIP features") -> Any:
    """The ``open_clip`` package, or MissingDependencyError naming ``user`` and the extra to install."""
    try:
        import open_clip
    except ImportError as e:
        raise MissingDependencyError(f"{user} need(s) open_clip: pip install 'iqa[clip]'") from e
    return open_clip


def clip_from_openai_archive(path: str | Path) -> torch.nn.Module:
    """Build an open_clip model from an OpenAI-layout TorchScript archive (tensors only), in float32.

    OpenAI ships float16 tensors and ``build_model`` casts to float16; like ``clip.load`` on CPU we
    run in float32 (the fp16 weights are exactly representable, so nothing is lost).
    """
    state = torch.jit.load(str(path), map_location="cpu").state_dict()
    return open_clip_module().model.build_model_from_openai_state_dict(state).float().eval()


def load_openai_clip(model_name: str = "ViT-L-14-336", weights: str | Path | None = None) -> torch.nn.Module:
    """OpenAI's released tower ``model_name`` (see ``OPENAI_TOWERS``), sha256-verified first."""
    if model_name not in OPENAI_TOWERS:
        raise InputError(f"unknown CLIP tower {model_name!r}; OpenAI towers: {', '.join(OPENAI_TOWERS)}")
    open_clip_module()  # before a download of up to 1.7 GB: a missing extra is said first
    return clip_from_openai_archive(resolve_weights(OPENAI_TOWERS[model_name], weights))


def _slug(model_name: str) -> str:
    return model_name.lower().replace("-", "_").replace("_b_", "_b").replace("_l_", "_l")


class CLIPImage(FeatureExtractor):
    """Raw CLIP image embeddings of an OpenAI tower, by name and input path.

    ``CLIPImage(model_name="ViT-B-16")`` loads OpenAI's ViT-B/16 through the weights manager;
    ``CLIPImage(model)`` wraps an open_clip model you built (e.g. other pretrained weights).
    The extractor name (and so the cache key) names the tower and the input path.
    """

    name = "clip"
    default_model: str | None = None  # set by the named subclasses below
    default_preprocess: Preprocess = "openai"

    def __init__(
        self,
        model: torch.nn.Module | None = None,
        *,
        model_name: str | None = None,
        preprocess: Preprocess | None = None,
        weights: str | Path | None = None,
    ) -> None:
        super().__init__()
        model_name = model_name or self.default_model
        self.preprocess = preprocess or self.default_preprocess
        if self.preprocess not in _GEOMETRY:
            raise InputError(f"preprocess must be one of {sorted(_GEOMETRY)}, got {self.preprocess!r}")
        if model is not None and weights is not None:
            raise InputError("pass either a built model or weights, not both")
        if model is None:
            if model_name is None:
                raise InputError(f"name a CLIP tower: model_name= one of {', '.join(OPENAI_TOWERS)}")
            model = load_openai_clip(model_name, weights)
        if not hasattr(model, "encode_image"):
            raise InputError("model must be an open_clip CLIP model (with encode_image)")
        # open_clip's model: encode_image and visual.* are not in nn.Module's type, hence Any
        self.model: Any = model
        visual: Any = model.visual
        self.dim = int(visual.output_dim)
        size = visual.image_size
        self.size = int(size[0] if isinstance(size, (tuple, list)) else size)
        tower = _slug(model_name) if model_name else "custom"  # a built model may name its tower
        self.name = f"clip_{tower}{'_cmmd' if self.preprocess == 'cmmd' else ''}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"{self.name} takes (N, 3, H, W) RGB images in [0, 1], got {tuple(x.shape)}")
        dtype = next(self.model.parameters()).dtype
        pixels = self.follow(clip_preprocess(x, self.size, self.preprocess)).to(dtype)
        return image_embedding(self.model.visual, pixels).float()  # = encode_image, cheaper (clip_forward)

    def cache_key(self) -> str:
        return f"{self.name}:raw"  # features cached before v0.1 were L2-normalised


class CLIPCMMD(CLIPImage):
    """768-d CLIP ViT-L/14@336 embeddings with CMMD's reference preprocessing."""

    default_model, default_preprocess = "ViT-L-14-336", "cmmd"


class CLIPViTB32(CLIPImage):
    """512-d OpenAI CLIP ViT-B/32 embeddings (OpenAI preprocessing); FD_CLIP's usual tower."""

    default_model = "ViT-B-32"


class CLIPViTB16(CLIPImage):
    """512-d OpenAI CLIP ViT-B/16 embeddings (OpenAI preprocessing)."""

    default_model = "ViT-B-16"


class CLIPViTL14(CLIPImage):
    """768-d OpenAI CLIP ViT-L/14 embeddings (OpenAI preprocessing)."""

    default_model = "ViT-L-14"


class CLIPViTL14_336(CLIPImage):  # noqa: N801 - the tower's name
    """768-d OpenAI CLIP ViT-L/14@336 embeddings (OpenAI preprocessing)."""

    default_model = "ViT-L-14-336"
