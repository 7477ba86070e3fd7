"""HPSv2: iqa's ``hpsv2`` against the ``hpsv2`` package's ``score`` (1.2.0, unchanged) with the same random
ViT-H/14 state dict (released layout; both networks take the same tensors, so the ~4 GB is held once).

The package's model slot is filled with its own vendored ``create_model_and_transforms`` model holding
the random tensors and its checkpoint read returns them (tests/metrics/text/test_hpsv2.py does the
same); it scores a PIL image (made once before timing) through its ``preprocess_val`` and
``get_tokenizer('ViT-H-14')``, float32 on a CPU. iqa scores the decoded float tensor. One prompt per
image, batch of one. ``hpsv21`` runs the same network (other weights): timed once.
"""

from __future__ import annotations

import functools
import importlib.util
import tempfile
import warnings
from typing import Any

import numpy as np
import torch
from PIL import Image

from benchmarks.learned import Case

PROMPT = ["a photograph of a bird sitting on a branch"]


@functools.cache
def _skeleton() -> tuple[Any, Any]:
    from tests.helpers.hpsv2_ref import import_hpsv2_open_clip, reference_model

    return reference_model(import_hpsv2_open_clip())


@functools.cache
def _state() -> dict[str, torch.Tensor]:
    from tests.helpers.seeded_state import seeded_state

    return seeded_state(_skeleton()[0])


@functools.cache
def _ours() -> Any:
    import iqa
    from iqa.models.hpsv2 import build_hpsv2

    return iqa.create("hpsv2", model=build_hpsv2(_state()))


class _TorchReadingMemory:
    """torch as hpsv2.img_score sees it here: its one ``torch.load`` returns the state in memory (patching
    ``torch.load`` itself would change every later case in this process)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(torch, name)

    @staticmethod
    def load(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"state_dict": _state()}


@functools.cache
def _score() -> Any:
    model, preprocess_val = _skeleton()
    model.load_state_dict(_state(), strict=True, assign=True)
    model.attn_mask = torch.full(model.attn_mask.shape, float("-inf")).triu_(1)
    filters = warnings.filters[:]
    import hpsv2.img_score as img_score

    warnings.filters[:] = filters  # the package sets a global "ignore UserWarning" at import
    img_score.model_dict.update(model=model, preprocess_val=preprocess_val)
    img_score.root_path = tempfile.gettempdir()  # score() creates its cache folder; not in the user's home
    img_score.torch = _TorchReadingMemory()  # the package's view of torch only: no 4 GB file read
    return img_score.score


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    pil = Image.fromarray(np.asarray((img[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0)))
    have_ref = importlib.util.find_spec("hpsv2") is not None and importlib.util.find_spec("open_clip") is not None

    def reference() -> torch.Tensor:
        return torch.tensor(_score()(pil, PROMPT[0], cp="HPS_v2_compressed.pt"), dtype=torch.float32)

    return [
        Case(name="hpsv2", ours=lambda: _ours()(img, PROMPT), reference=reference if have_ref else None,
             reference_name="hpsv2 1.2.0 hpsv2.score (vendored open_clip; test-time reference)"),
    ]  # fmt: skip
