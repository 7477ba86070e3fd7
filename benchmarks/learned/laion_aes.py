"""LAION aesthetic predictor: iqa's ``laion_aes`` against pyiqa's ``LAIONAes`` (test-time reference).

Both sides hold the same seeded random CLIP ViT-L/14 image tower (OpenAI's state-dict layout; the
unused text tower cut to one small block) and the same random head in the released layout. iqa
builds its tower as ``load_openai_clip`` does (open_clip's ``build_model_from_openai_state_dict``);
pyiqa's ``clip.load`` (a download) is replaced by the openai-clip model holding that state. Two
cases: the release's input path (iqa's default, PIL) and ``preprocess="pyiqa"`` (pyiqa's tensor
resize; the scores then agree). Both networks are built by ``cases`` (one of each for the two cases)
and held only by the cases' closures, so --memory measures one side alone.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

import torch

from benchmarks.learned import Case

# openai/CLIP build_model() values for ViT-L/14's image tower; a one-block text tower (never run here)
VIT_L14 = {
    "embed_dim": 768, "image_resolution": 224, "vision_layers": 24, "vision_width": 1024, "vision_patch_size": 14,
    "context_length": 77, "vocab_size": 100, "transformer_width": 64, "transformer_heads": 1, "transformer_layers": 1,
}  # fmt: skip
REFERENCE = "pyiqa 0.1.16 LAIONAes (test-time reference)"


def _openai_clip() -> Any:
    """The openai-clip package; its import needs pkg_resources.packaging (gone from setuptools >= 81)."""
    import packaging.version

    if "pkg_resources" not in sys.modules and importlib.util.find_spec("pkg_resources") is None:
        sys.modules.setdefault("pkg_resources", types.SimpleNamespace(packaging=packaging))  # type: ignore[arg-type]
    import clip

    return clip


def _state() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Seeded CLIP state (float16-representable, as OpenAI ships) and head state (released layout)."""
    clip = _openai_clip()
    with torch.device("meta"):
        shell = clip.model.CLIP(**VIT_L14)
    g = torch.Generator().manual_seed(0)
    tower = {}
    for k, v in shell.state_dict().items():
        if v.ndim == 0:
            t = torch.tensor(4.6052)
        elif v.ndim == 1:
            t = (1.0 if k.endswith("weight") else 0.0) + 0.05 * torch.randn(v.shape, generator=g)
        else:
            fan_in = v.shape[0] if k in ("visual.proj", "text_projection") else v[0].numel()
            t = torch.randn(v.shape, generator=g) * fan_in**-0.5
        tower[k] = t.half().float()
    from iqa.models.laion_aes import AestheticMLP

    head = {k: torch.randn(v.shape, generator=g) * 0.05 for k, v in AestheticMLP(768).state_dict().items()}
    return tower, head


def _pyiqa(tower: dict[str, torch.Tensor], head: dict[str, torch.Tensor]) -> torch.nn.Module | None:
    """pyiqa's LAIONAes holding ``tower`` (its clip.load, a download, returns the openai-clip model)."""
    if importlib.util.find_spec("pyiqa") is None:
        return None
    from unittest import mock

    clip = _openai_clip()
    from pyiqa.archs import laion_aes_arch

    with torch.device("meta"):
        shell = clip.model.CLIP(**VIT_L14)
    model = shell.to_empty(device="cpu")
    model.load_state_dict(tower, assign=True)
    with mock.patch.object(laion_aes_arch.clip, "load", lambda *a, **k: (model.eval(), None)):
        net = laion_aes_arch.LAIONAes(pretrained=False).eval()
    net.mlp.load_state_dict(head)
    return net


def _ours(tower: dict[str, torch.Tensor], head: dict[str, torch.Tensor]) -> torch.nn.Module:
    """iqa's predictor, its tower built as load_openai_clip builds it (open_clip, from OpenAI's state dict)."""
    import open_clip

    from iqa.models.laion_aes import AestheticMLP, LAIONAesthetic

    clip_model = open_clip.model.build_model_from_openai_state_dict(dict(tower)).float().eval()
    mlp = AestheticMLP(768)
    mlp.load_state_dict(head)
    return LAIONAesthetic(clip_model.visual, mlp).eval().requires_grad_(False)


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    """Both networks built here (one of each, shared by the two cases); only the closures hold them."""
    import iqa

    tower, head = _state()
    net = _ours(tower, head)
    theirs = _pyiqa(tower, head)  # takes the state's tensors (assign): no second copy
    del tower
    out = []
    for name, preprocess in (("laion_aes", "openai"), ("laion_aes (preprocess=pyiqa)", "pyiqa")):
        metric = iqa.create("laion_aes", model=net, preprocess=preprocess)
        out.append(
            Case(
                name=name,
                ours=lambda m=metric: m(img),  # type: ignore[misc]
                reference=None if theirs is None else lambda: theirs(img).reshape(-1),
                reference_name=REFERENCE,
            )
        )
    return out
