"""CLIP image embeddings with CMMD's reference preprocessing.

Reference: google-research ``cmmd/io_util.py`` and ``embedding.py`` (Jayasumana et al., "Rethinking
FID: Towards a Better Evaluation Metric for Image Generation", CVPR 2024): centre crop to a
square (``left = (w - l) // 2``), PIL bicubic resize to 336 on uint8 (so the result is
re-quantised), /255, CLIP mean/std normalisation, the CLS embedding after ``ln_post`` and ``proj``,
L2-normalised. We resize with PIL itself, so the pixels are the reference's bit for bit. The model
is OpenAI CLIP ViT-L/14@336px run through open_clip (extra ``iqa[clip]``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from iqa.errors import InputError, MissingDependencyError
from iqa.features.base import FeatureExtractor
from iqa.weights import resolve_weights

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def cmmd_preprocess(x: torch.Tensor, size: int = 336) -> torch.Tensor:
    """(N, 3, H, W) float in [0, 1] -> (N, 3, size, size) CLIP-normalised, as the CMMD reference."""
    out = []
    for img in x:
        a = np.asarray(torch.round(img.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).cpu())
        h, w = a.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        pil = Image.fromarray(a[top : top + side, left : left + side]).resize((size, size), Image.BICUBIC)
        out.append(torch.from_numpy(np.asarray(pil).astype(np.float32) / 255.0))
    t = torch.stack(out).permute(0, 3, 1, 2)
    mean = torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return ((t - mean) / std).to(x.device)


def _open_clip():  # noqa: ANN202
    try:
        import open_clip
    except ImportError as e:
        raise MissingDependencyError("CLIP features need open_clip: pip install 'iqa[clip]'") from e
    return open_clip


def load_openai_clip(weights: str | Path | None = None, model_name: str = "ViT-L-14-336") -> torch.nn.Module:
    """Build the open_clip model from OpenAI's released archive, verified by sha256 first."""
    path = resolve_weights("clip_vit_l14_336_openai", weights)
    state = torch.jit.load(str(path), map_location="cpu").state_dict()
    model = _open_clip().model.build_model_from_openai_state_dict(state)
    return model.eval()


class CLIPCMMD(FeatureExtractor):
    """768-d unit-norm CLIP ViT-L/14@336 image embeddings with CMMD's preprocessing."""

    name = "clip_vit_l14_336_cmmd"

    def __init__(self, model: torch.nn.Module | None = None, *, weights: str | Path | None = None) -> None:
        super().__init__()
        self.model = model if model is not None else load_openai_clip(weights)
        if not hasattr(self.model, "encode_image"):
            raise InputError("model must be an open_clip CLIP model (with encode_image)")
        self.dim = int(getattr(self.model.visual, "output_dim", 768))  # 768 for ViT-L/14@336
        size = getattr(self.model.visual, "image_size", 336)
        self.size = int(size[0] if isinstance(size, (tuple, list)) else size)  # 336 for the CMMD tower

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise InputError(f"{self.name} takes (N, 3, H, W) RGB images in [0, 1], got {tuple(x.shape)}")
        emb = self.model.encode_image(cmmd_preprocess(x, self.size).to(next(self.model.parameters()).dtype))
        return emb / emb.norm(dim=-1, keepdim=True)
