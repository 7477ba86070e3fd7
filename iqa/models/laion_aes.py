"""The LAION aesthetic predictor: an MLP on L2-normalised CLIP ViT-L/14 image embeddings.

Paper: Schuhmann et al., "LAION-5B: An open large-scale dataset for training next generation
image-text models", NeurIPS 2022 Datasets and Benchmarks (the predictor that selected
LAION-Aesthetics). Release: https://github.com/christophschuhmann/improved-aesthetic-predictor
(Apache-2.0), ``simple_inference.py``: OpenAI's CLIP ViT-L/14 (``clip.load("ViT-L/14")`` and its
preprocess), the embedding divided by its L2 norm (a zero vector stays zero), then the MLP.

Released heads, ``torch.save(model.state_dict())`` of the MLP alone, loaded here unchanged
(``load_state_dict(strict=True)`` on :attr:`LAIONAesthetic.head`):

- ``sac+logos+ava1-l14-linearMSE.pth`` ("v2", SAC + LAION-Logos + AVA; pyiqa's ``laion_aes``):
  ``layers.{0,2,4,6,7}``, Linear 768-1024-128-64-16-1 with dropout between and no activation (the
  ReLUs are commented out in the release, so the head is one affine map of the embedding);
- ``ava+logos-l14-linearMSE.pth``, the first linear head (AVA + LAION-Logos), the same layout;
- ``ava+logos-l14-reluMSE.pth`` (AVA + LAION-Logos, ``avaclipmlp_inf_wds-relu.py``): the same
  widths with a ReLU after each hidden Linear, hence ``layers.{0,3,6,9,11}``.

The CLIP tower is OpenAI's archive (manifest ``clip_vit_l14_openai``, sha256-verified, read by
:func:`iqa.features.clip.load_openai_clip`); only its image tower is kept.

Input paths (:func:`preprocess`):

- ``"openai"`` (default, the release's): ``clip.load``'s preprocess on the uint8 image through
  PIL: bicubic resize of the short side to 224, centre crop, CLIP mean/std
  (:func:`iqa.features.clip.clip_preprocess`, checked against open_clip's transform). PIL's
  uint8 resampling has no useful gradient, so when the input requires one the values stay PIL's
  and the gradient is that of the float bicubic resize below (straight-through).
- ``"pyiqa"`` (pyiqa's ``clip_preprocess_tensor``): torchvision's tensor resize of the short side
  (bicubic, antialiased, on floats, no uint8 rounding), centre crop, CLIP mean/std. The two paths
  differ by about one grey level per pixel.

Only the class token's embedding is read, so the tower's last block runs its attention output and MLP
for that token alone (:func:`iqa.features.clip_forward.image_embedding`; the same numbers to float rounding, ~10% less CPU time
than open_clip's forward of ViT-L/14).

The release's script runs the tower in float16 on a GPU (``clip.load`` keeps OpenAI's float16
weights there); here the tower runs in float32 everywhere, as ``clip.load`` does on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError
from iqa.features.clip import CLIP_MEAN, CLIP_STD, clip_preprocess, open_clip_module
from iqa.features.clip_forward import image_embedding, is_plain_vit

Preprocess = Literal["openai", "pyiqa"]
Variant = Literal["sac_logos_ava1", "ava_logos", "ava_logos_relu"]
TOWER = "ViT-L-14"  # open_clip's name of the release's tower (OpenAI's "ViT-L/14")


@dataclass(frozen=True)
class Release:
    """One released head: its file, manifest id and whether it has ReLUs."""

    filename: str
    weights_id: str
    relu: bool


RELEASES: dict[str, Release] = {
    "sac_logos_ava1": Release("sac+logos+ava1-l14-linearMSE.pth", "laion_aes_sac_logos_ava1", False),
    "ava_logos": Release("ava+logos-l14-linearMSE.pth", "laion_aes_ava_logos", False),
    "ava_logos_relu": Release("ava+logos-l14-reluMSE.pth", "laion_aes_ava_logos_relu", True),
}


class AestheticMLP(nn.Module):
    """The release's MLP, module indices as released so its files load with ``strict=True``.

    Args:
        input_size: CLIP embedding width (768 for ViT-L/14).
        relu: the ``reluMSE`` head (a ReLU after each hidden Linear); False: the linear heads.
    """

    def __init__(self, input_size: int = 768, relu: bool = False) -> None:
        super().__init__()
        self.input_size, self.relu = input_size, relu
        widths = (input_size, 1024, 128, 64, 16)
        drops = (0.2, 0.2, 0.1, None)  # the release's dropout after each hidden Linear but the last
        mods: list[nn.Module] = []
        for (i, o), p in zip(zip(widths[:-1], widths[1:]), drops):
            mods.append(nn.Linear(i, o))
            if relu:
                mods.append(nn.ReLU())
            if p is not None:
                mods.append(nn.Dropout(p))
        mods.append(nn.Linear(16, 1))
        self.layers = nn.Sequential(*mods)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        """(N, input_size) unit embeddings -> (N, 1) ratings."""
        return self.layers(emb)


def _resize_crop_tensor(x: torch.Tensor, size: int) -> torch.Tensor:
    """Torchvision's ``resize(x, size, BICUBIC, antialias=True)`` + ``center_crop(x, size)`` on float tensors.

    The long side becomes ``int(size * long / short)``, an image whose short side is already
    ``size`` is not resampled, the crop offset is ``int(round((side - size) / 2))``; no clamping.
    """
    h, w = x.shape[-2:]
    short, long = min(h, w), max(h, w)
    if short != size:
        other = int(size * long / short)
        out = (size, other) if h <= w else (other, size)
        x = F.interpolate(x, size=out, mode="bicubic", align_corners=False, antialias=True)
    h, w = x.shape[-2:]
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return x[..., top : top + size, left : left + size]


def _normalise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(CLIP_MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def preprocess(x: torch.Tensor, size: int = 224, path: Preprocess = "openai") -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 3, size, size) CLIP-normalised, by the named path (module docstring)."""
    if path == "pyiqa":
        return _normalise(_resize_crop_tensor(x, size))
    if path != "openai":
        raise InputError(f"preprocess must be 'openai' or 'pyiqa', got {path!r}")
    exact = clip_preprocess(x, size, "openai").to(x.dtype)
    if not (torch.is_grad_enabled() and x.requires_grad):
        return exact
    smooth = _normalise(_resize_crop_tensor(x, size))
    return smooth + (exact - smooth).detach()  # PIL's values, the float resize's gradient


class LAIONAesthetic(nn.Module):
    """CLIP image tower -> L2 normalisation -> the release's MLP: one rating per image.

    Args:
        visual: a CLIP image tower (open_clip's ``model.visual``) mapping CLIP-normalised
            (N, 3, S, S) pixels to (N, D) embeddings, with ``image_size`` S.
        head: the MLP; its ``input_size`` must be the tower's embedding width D.
    """

    def __init__(self, visual: nn.Module, head: AestheticMLP) -> None:
        super().__init__()
        tower: Any = visual
        dim = int(getattr(tower, "output_dim", head.input_size))
        if dim != head.input_size:
            raise InputError(f"the CLIP tower gives {dim}-d embeddings, the aesthetic head reads {head.input_size}")
        size = tower.image_size
        self.image_size = int(size[0] if isinstance(size, (tuple, list)) else size)
        self.visual, self.head = visual, head
        self.plain_vit = is_plain_vit(visual)

    def embed(self, pixels: torch.Tensor) -> torch.Tensor:
        """CLIP-normalised pixels -> (N, D) unit embeddings (a zero embedding stays zero, as released)."""
        emb = image_embedding(self.visual, pixels)
        return F.normalize(emb.float(), dim=-1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """CLIP-normalised (N, 3, S, S) pixels -> (N,) ratings on the release's 1-10 scale."""
        return self.head(self.embed(pixels))[:, 0]

    def score(self, x: torch.Tensor, path: Preprocess = "openai") -> torch.Tensor:
        """(N, 3, H, W) in [0, 1] -> (N,) ratings through the named input path."""
        dtype = next(self.visual.parameters()).dtype
        return self(preprocess(x, self.image_size, path).to(dtype))


def read_head_state(path: str | Path) -> dict[str, torch.Tensor]:
    """A head file's state dict: as released (bare), or wrapped (``params``/``state_dict``), or pyiqa's ``mlp.``."""
    from iqa.weights import load_torch_state

    state: Any = load_torch_state(Path(path))
    for key in ("params", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict):
        raise InputError(f"{path}: not a state dict (the release's head files hold the MLP's state dict)")
    return {k.removeprefix("module.").removeprefix("mlp."): v for k, v in state.items()}


def load_head(variant: Variant, weights: str | Path | None = None) -> AestheticMLP:
    """The released head of ``variant`` (manifest, verified) or the file ``weights``, loaded strictly."""
    from iqa.weights import resolve_weights

    rel = RELEASES[variant]
    open_clip_module("laion_aes")  # the tower needs it: said before any download
    path = Path(weights) if weights is not None else resolve_weights(rel.weights_id)
    if not path.is_file():
        raise InputError(f"{path}: no such LAION aesthetic head file")
    head = AestheticMLP(768, relu=rel.relu)
    try:
        head.load_state_dict(read_head_state(path), strict=True)
    except RuntimeError as e:
        kind = "ReLU" if rel.relu else "linear"
        raise InputError(f"{path} is not a LAION aesthetic {kind} head ({rel.filename}'s layout): {e}") from e
    return head.eval()


def load_laion_aes(
    variant: Variant = "sac_logos_ava1",
    weights: str | Path | None = None,
    clip_weights: str | Path | None = None,
) -> LAIONAesthetic:
    """The predictor of ``variant``: its head and OpenAI's ViT-L/14 image tower, both through the manifest.

    The head is read first (a small file), so a missing head is reported before the tower is opened.
    """
    from iqa.features.clip import load_openai_clip

    head = load_head(variant, weights)
    tower: Any = load_openai_clip(TOWER, clip_weights)
    return LAIONAesthetic(tower.visual, head).eval().requires_grad_(False)
