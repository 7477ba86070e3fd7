"""LIQE: iqa's ``liqe`` and ``liqe_mix`` against pyiqa's ``LIQE`` (test-time reference).

Both hold the same random state dict in the released key layout (CLIP ViT-B/32, 151M parameters)
and score the same decoded image through their own input path: CLIP normalisation, the stride-32
grid of 224 px patches, 15 of them kept (a 384x512 image has 60), patch-averaged logits, softmax,
expected level. pyiqa's CLIP loader (OpenAI's download) is replaced by the architecture holding the
state, and its text-feature cache goes to a temporary folder. For ``liqe_mix`` the 495 prompt
embeddings are encoded once by iqa and given to pyiqa too (encoding is not timed: both do it once).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.learned import Case

VIT_B32 = (512, 224, 12, 768, 32, 77, 49408, 512, 8, 12)  # pyiqa clip_model.CLIP args of OpenAI's ViT-B/32


def _state() -> dict[str, torch.Tensor]:
    from iqa.models.liqe import clip_vit_b32

    with torch.device("meta"):
        layout = clip_vit_b32().state_dict()
    g = torch.Generator().manual_seed(0)
    state = {k: 0.02 * torch.randn(v.shape, generator=g) for k, v in layout.items()}
    state |= {k: torch.ones_like(v) for k, v in state.items() if "ln_" in k and k.endswith("weight")}
    state["logit_scale"] = torch.tensor(float(np.log(100.0)))
    return state


def _ours(variant: str, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    from iqa.models.liqe import LIQENet, causal_mask

    with torch.device("meta"):
        net = LIQENet(variant)  # type: ignore[arg-type]
    net.clip_model.load_state_dict(state, strict=True, assign=True)
    net.clip_model.attn_mask = causal_mask(77)
    net.text_features = torch.empty(0)
    net.refresh_text_features()
    return net.eval()


def _pyiqa(state: dict[str, torch.Tensor], text_features: torch.Tensor | None) -> torch.nn.Module | None:
    try:
        from tests.helpers.openai_clip import import_openai_clip

        import_openai_clip()
        import pyiqa.archs.liqe_arch as la
        from pyiqa.archs import clip_model
    except (ImportError, Exception):  # noqa: BLE001 - pytest's skip is an Exception subclass
        return None

    def load(name: str, device: str) -> torch.nn.Module:
        with torch.device("meta"):
            m = clip_model.CLIP(*VIT_B32)
        m.load_state_dict(state, assign=True)
        for block in m.transformer.resblocks:
            block.attn_mask = m.build_attention_mask()
        return m

    real_load, real_dir = la.load, la.DEFAULT_CACHE_DIR
    with tempfile.TemporaryDirectory() as d:
        la.load, la.DEFAULT_CACHE_DIR = load, d
        try:
            if text_features is not None:  # skip pyiqa's 495-prompt encode: it reads this cache instead
                torch.save(text_features, Path(d) / "liqe_text_feat.pt")
            net = la.LIQE(pretrained=False, mtl=text_features is not None).eval()
        finally:
            la.load, la.DEFAULT_CACHE_DIR = real_load, real_dir
    return net


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    import iqa

    state = _state()
    out = []
    for name, variant in (("liqe", "koniq"), ("liqe_mix", "mix")):
        net = _ours(variant, state)
        theirs = _pyiqa(state, net.text_features.clone() if variant == "mix" else None)
        ours = iqa.create(name, model=net)
        out.append(
            Case(
                name=name,
                ours=lambda m=ours: m(img),  # type: ignore[misc]
                reference=(lambda t=theirs: t(img).reshape(-1)) if theirs is not None else None,  # type: ignore[misc]
                reference_name="pyiqa 0.1.16 LIQE (test-time reference)",
            )
        )
    return out
