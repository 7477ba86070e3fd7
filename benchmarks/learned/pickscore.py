"""PickScore: iqa's ``pickscore`` against the authors' README pipeline (transformers 5 ``CLIPModel`` +
``CLIPProcessor``) with the same random ViT-H/14 state dict (released layout; both networks take the
same tensors, so the ~4 GB is held once).

The reference scores as the README does (``processor(images=..., text=..., padding=True,
truncation=True, max_length=77)``, ``get_image_features`` / ``get_text_features``, normalised,
``logit_scale.exp() * cos``) from a PIL image (its natural input, made once before timing); iqa from
the decoded float tensor. One prompt per image, batch of one. Networks are built on a case's first
call (the runner's untimed warm-up).
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

import numpy as np
import torch
from PIL import Image

from benchmarks.learned import Case

PROMPT = ["a photograph of a bird sitting on a branch"]


@functools.cache
def _state() -> dict[str, torch.Tensor]:
    from iqa.models.pickscore import PickScoreCLIP
    from tests.helpers.seeded_state import seeded_state

    with torch.device("meta"):
        skeleton = PickScoreCLIP()
    return seeded_state(skeleton)


@functools.cache
def _ours() -> Any:
    import iqa
    from iqa.models.pickscore import build_pickscore

    return iqa.create("pickscore", model=build_pickscore(_state()))


@functools.cache
def _reference() -> tuple[Any, Any]:
    import transformers

    from tests.metrics.text.test_pickscore import LAION_PREPROCESSOR, _reference_model
    from tests.models.test_pickscore import make_hf_tokenizer

    tokenizer = make_hf_tokenizer()  # transformers' CLIPTokenizer on the CLIP BPE tables
    processor = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessor(**LAION_PREPROCESSOR), tokenizer=tokenizer
    )
    return _reference_model(_state()), processor


def _readme(pil: Image.Image) -> torch.Tensor:
    from tests.metrics.text.test_pickscore import _readme_scores

    model, processor = _reference()
    with torch.no_grad():
        return _readme_scores(model, processor, [pil], PROMPT)


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    pil = Image.fromarray(np.asarray((img[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)))
    have_ref = importlib.util.find_spec("transformers") is not None
    return [
        Case(name="pickscore", ours=lambda: _ours()(img, PROMPT), reference=(lambda: _readme(pil)) if have_ref else None,
             reference_name="transformers 5 CLIPModel + CLIPProcessor, the PickScore README (test-time reference)"),
    ]  # fmt: skip
