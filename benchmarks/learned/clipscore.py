"""CLIPScore: iqa's ``clipscore`` against pyiqa's ``CLIPScore`` (openai/CLIP's model class) with the same random ViT-B/32.

pyiqa runs the reference formula (Hessel's prefix, w = 2.5, ``clip.tokenize(truncate=True)``) on
openai/CLIP's ``build_model`` of the state dict; its ``clip.load`` (a download) is pointed at that
model. iqa is timed on both input paths: ``resize="tensor"`` (pyiqa's, the same operations) and the
default ``"pil"`` (Hessel's release: PIL bicubic on uint8). One prompt per image, batch of one.
Networks are built on a case's first call (the runner's untimed warm-up).
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any
from unittest import mock

import torch

from benchmarks.learned import Case

PROMPT = ["a photograph of a bird sitting on a branch"]


@functools.cache
def _state() -> dict[str, torch.Tensor]:
    import open_clip

    torch.manual_seed(0)
    return {k: v.half() for k, v in open_clip.create_model("ViT-B-32-quickgelu", pretrained=None).state_dict().items()}


@functools.cache
def _ours(resize: str) -> Any:
    import open_clip

    import iqa

    model = open_clip.model.build_model_from_openai_state_dict(dict(_state())).float().eval()
    return iqa.create("clipscore", model=model, resize=resize)


@functools.cache
def _pyiqa() -> Any:
    from tests.helpers.openai_clip import import_openai_clip

    clip = import_openai_clip()
    from pyiqa.archs import clipscore_arch

    reference = clip.model.build_model(dict(_state())).float().eval()
    with mock.patch.object(clipscore_arch.clip, "load", lambda *a, **k: (reference, None)):
        return clipscore_arch.CLIPScore(backbone="ViT-B/32").eval()


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    have_ref = importlib.util.find_spec("pyiqa") is not None and importlib.util.find_spec("clip") is not None
    reference = (lambda: _pyiqa()(img, PROMPT).reshape(-1)) if have_ref else None
    name = "pyiqa 0.1.16 CLIPScore on openai/CLIP's model (test-time reference)"
    return [
        Case(name="clipscore (resize=tensor)", ours=lambda: _ours("tensor")(img, PROMPT), reference=reference,
             reference_name=name),
        Case(name="clipscore", ours=lambda: _ours("pil")(img, PROMPT), reference=reference, reference_name=name),
        *torchmetrics_cases(img),
    ]  # fmt: skip


@functools.cache
def _torchmetrics() -> Any:
    """torchmetrics 1.9's CLIPScore on transformers' CLIPModel holding the same random ViT-B/32 (the
    parity test's construction; torchmetrics' ViT-L/14 default differs in size only)."""
    import tempfile
    from pathlib import Path

    import transformers
    from torchmetrics.multimodal import clip_score

    from tests.helpers.hf_clip import PooledFeatures, hf_clip_from_openai, hf_tokenizer

    state = {k: v.float() for k, v in _state().items()}
    hf = hf_clip_from_openai(state, width_t=512, heads_t=8, layers_t=12, width_v=768, heads_v=12, layers_v=12,
                             patch=32, size=224, embed=512).eval()  # fmt: skip
    tok = hf_tokenizer(Path(tempfile.mkdtemp()))
    processor = transformers.CLIPProcessor(image_processor=transformers.CLIPImageProcessor(), tokenizer=tok)
    return clip_score.CLIPScore(model_name_or_path=lambda: (PooledFeatures(hf), processor))


@functools.cache
def _ours_torchmetrics() -> Any:
    import open_clip

    import iqa

    model = open_clip.model.build_model_from_openai_state_dict(dict(_state())).float().eval()
    return iqa.create("clipscore_torchmetrics", model=model)


def torchmetrics_cases(img: torch.Tensor) -> list[Case]:
    have = importlib.util.find_spec("torchmetrics") is not None and importlib.util.find_spec("transformers") is not None
    u8 = torch.round(img * 255).to(torch.uint8)  # what torchmetrics is given: uint8 pixels

    def reference() -> torch.Tensor:
        metric = _torchmetrics()
        metric.reset()
        return metric(u8, PROMPT[0]).reshape(-1)

    return [
        Case(name="clipscore_torchmetrics (ViT-B/32 weights)", ours=lambda: _ours_torchmetrics()(img, PROMPT),
             reference=reference if have else None,
             reference_name="torchmetrics 1.9 CLIPScore on transformers' CLIPModel (test-time reference)"),
    ]  # fmt: skip
