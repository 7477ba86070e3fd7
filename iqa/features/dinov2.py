"""DINOv2 CLS features (ViT-S/B/L/g 14), with dgm-eval's or torch-fidelity's input path.

Paper: Oquab et al., "DINOv2: Learning Robust Visual Features without Supervision", TMLR 2024; as
an evaluation space for generative models: Stein et al., "Exposing flaws of generative model
evaluation metrics and their unfair treatment of diffusion models", NeurIPS 2023 (dgm-eval).
Network: :class:`iqa.features.dinov2_vit.DinoV2`, which loads Meta's released ``*_pretrain.pth`` as is;
the feature is the final-LayerNorm CLS token (the hub model's output, what both references use).

Input paths (the cache key names the one used), all from uint8 levels (``round(255 x)``):

- ``"dgm_eval"`` (default; layer6ai-labs/dgm-eval ``models/dinov2.py`` ``transform``, its default
  ``clean_resize=False``): PIL image -> torchvision ``Resize((224, 224), BICUBIC)`` (so Pillow's
  antialiased bicubic, aspect ratio not kept, no crop) -> ``ToTensor`` (/255) -> ImageNet
  mean/std.
- ``"dgm_eval_clean"`` (dgm-eval ``--clean_resize``, ``resizer.pil_resize``): each channel as a
  float32 PIL image, bicubic to 224x224, clipped to [0, 255], /255 -> ImageNet mean/std.
- ``"torch_fidelity"`` (torch-fidelity 0.4.0 ``feature_extractor_dinov2.py``): uint8 tensor ->
  float32 -> TF1-style bilinear to 224x224 (no antialias) -> normalise with ``255 * mean``,
  ``255 * std``.

Weights: the released files are weights-manifest entries ``dinov2_vit{s,b,l,g}14`` (the URLs
above, Apache-2.0). Meta publishes no hash for them, so they are ``hash_unpublished`` entries: the
sha256 is recorded on first download, import or use and enforced after; a missing file raises the
weights manager's :class:`~iqa.errors.WeightsNotFoundError` (URL, where to put it, ``iqa weights
fetch``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from PIL import Image

from iqa.errors import InputError
from iqa.features.base import FeatureExtractor
from iqa.features.dinov2_vit import CONFIGS, DinoV2
from iqa.features.inception import pil_bicubic_float
from iqa.transforms.resize import resize_bilinear_tf1
from iqa.weights import load_torch_state, resolve_weights

Preprocess = Literal["dgm_eval", "dgm_eval_clean", "torch_fidelity"]

SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def weights_id(arch: str) -> str:
    """The weights-manifest id of the released ``arch`` backbone (``dinov2_vitl14``...)."""
    return f"dinov2_{arch}"


def _quantise(x: torch.Tensor) -> torch.Tensor:
    return torch.round(x.detach().to(torch.float32).clamp(0, 1) * 255)


def _normalise(t: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
    # scaled in float64 before the cast, as torch-fidelity's (255 * 0.485, ...) constants are
    mean = torch.tensor([scale * m for m in IMAGENET_MEAN], dtype=torch.float32, device=t.device).view(1, 3, 1, 1)
    std = torch.tensor([scale * s for s in IMAGENET_STD], dtype=torch.float32, device=t.device).view(1, 3, 1, 1)
    return (t - mean) / std


def _dgm_eval(x: torch.Tensor) -> torch.Tensor:
    levels = _quantise(x).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
    out = [np.asarray(Image.fromarray(a).resize((SIZE, SIZE), Image.Resampling.BICUBIC)) for a in levels]
    t = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).to(torch.float32).div(255)
    return _normalise(t).to(x.device)


def _dgm_eval_clean(x: torch.Tensor) -> torch.Tensor:
    return _normalise(pil_bicubic_float(x, SIZE) / 255)


def _torch_fidelity(x: torch.Tensor) -> torch.Tensor:
    return _normalise(resize_bilinear_tf1(_quantise(x), (SIZE, SIZE)), 255.0)


PREPROCESS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "dgm_eval": _dgm_eval,
    "dgm_eval_clean": _dgm_eval_clean,
    "torch_fidelity": _torch_fidelity,
}


def dinov2_preprocess(x: torch.Tensor, path: Preprocess = "dgm_eval") -> torch.Tensor:
    """(N, 3, H, W) float in [0, 1] -> (N, 3, 224, 224) network input by the named path."""
    if path not in PREPROCESS:
        raise InputError(f"preprocess must be one of {sorted(PREPROCESS)}, got {path!r}")
    if x.ndim != 4 or x.shape[1] != 3:
        raise InputError(f"DINOv2 features take (N, 3, H, W) RGB images in [0, 1], got {tuple(x.shape)}")
    return PREPROCESS[path](x)


class DINOv2Features(FeatureExtractor):
    """CLS features of a released DINOv2 backbone (``arch``) on the named input path.

    ``DINOv2Features(arch="vits14")`` loads ``dinov2_vits14_pretrain.pth`` through the weights
    manager (or ``weights=FILE``); ``DINOv2Features(model)`` wraps a :class:`DinoV2` you built.
    """

    name = "dinov2"
    default_arch = "vitl14"
    default_preprocess: Preprocess = "dgm_eval"

    def __init__(
        self,
        model: DinoV2 | None = None,
        *,
        arch: str | None = None,
        preprocess: Preprocess | None = None,
        weights: str | Path | None = None,
    ) -> None:
        super().__init__()
        preprocess = preprocess or self.default_preprocess
        if preprocess not in PREPROCESS:
            raise InputError(f"preprocess must be one of {sorted(PREPROCESS)}, got {preprocess!r}")
        if model is not None and weights is not None:
            raise InputError("pass either a built model or weights, not both")
        arch = arch or (model.arch if model is not None else self.default_arch)
        if arch not in CONFIGS:
            raise InputError(f"unknown DINOv2 architecture {arch!r}; one of {', '.join(CONFIGS)}")
        if model is None:
            state = load_torch_state(resolve_weights(weights_id(arch), weights))
            with torch.device("meta"):  # no random init to overwrite (ViT-g has 1.1 billion parameters)
                model = DinoV2(arch)
            model.load_state_dict(state, strict=True, assign=True)
        if model.arch != arch:
            raise InputError(f"model is a DINOv2 {model.arch}, not {arch}")
        self.model = model.eval()
        self.preprocess, self.arch = preprocess, arch
        self.name, self.dim = f"dinov2_{arch}", model.dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = self.model.pos_embed.dtype
        return self.model(self.follow(dinov2_preprocess(x, self.preprocess)).to(dtype)).float()

    def cache_key(self) -> str:
        return f"{self.name}:{self.preprocess}"


class DINOv2ViTS14(DINOv2Features):
    """384-d DINOv2 ViT-S/14 CLS features (dgm-eval input path by default)."""

    default_arch = "vits14"


class DINOv2ViTB14(DINOv2Features):
    """768-d DINOv2 ViT-B/14 CLS features (dgm-eval input path by default)."""

    default_arch = "vitb14"


class DINOv2ViTL14(DINOv2Features):
    """1024-d DINOv2 ViT-L/14 CLS features (dgm-eval input path by default); FD_DINOv2's extractor."""

    default_arch = "vitl14"


class DINOv2ViTG14(DINOv2Features):
    """1536-d DINOv2 ViT-g/14 CLS features (dgm-eval input path by default)."""

    default_arch = "vitg14"


class DINOv2ViTL14TorchFidelity(DINOv2Features):
    """1024-d DINOv2 ViT-L/14 CLS features on torch-fidelity's input path (TF1 bilinear 224)."""

    default_arch, default_preprocess = "vitl14", "torch_fidelity"
