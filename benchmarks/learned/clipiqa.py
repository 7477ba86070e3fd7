"""CLIP-IQA: iqa's ``clipiqa_pyiqa``, ``clipiqa_plus`` and ``clipiqa_plus_rn50_512`` against pyiqa's CLIPIQA.

Both sides get the same seeded random RN50 in OpenAI's layout (tests/metrics/nr/test_clipiqa.py builds it;
pyiqa through its own ``build_model``) and the same random prompts; each runs its own input path (the
whole image, no resize). ``clipiqa_pyiqa`` is compared with pyiqa's ``clipiqa`` (the same five prompt
pairs); ``clipiqa`` (one pair) would only be cheaper. pyiqa runs the text tower on every call, iqa once
when the network is built. ``clipiqa_plus_vitl14_512`` is not timed (a ViT-L/14 at 384 x 512 costs
~0.3 TFLOP per image; its forward is the same code path as the RN50 cases' apart from the tower).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from unittest import mock

import torch

from benchmarks.learned import Case

# iqa name, pyiqa model_type, pos_embedding (both sides), learned prompts
VARIANTS = (
    ("clipiqa_pyiqa", "clipiqa", False),
    ("clipiqa_plus", "clipiqa+", False),
    ("clipiqa_plus_rn50_512", "clipiqa+_rn50_512", True),
)


@functools.cache
def _state() -> dict[str, torch.Tensor]:
    from tests.metrics.nr.test_clipiqa import openai_state

    return openai_state("RN50")


@functools.cache
def _ctx() -> torch.Tensor:
    return 0.02 * torch.randn(2, 16, 512, generator=torch.Generator().manual_seed(1))


@functools.cache
def _pyiqa(model_type: str, pos: bool) -> torch.nn.Module:
    from tests.metrics.nr.test_clipiqa import pyiqa_clipiqa

    ref = pyiqa_clipiqa(_state(), model_type, pos_embedding=pos)
    if model_type != "clipiqa":
        ref.prompt_learner.ctx.data = _ctx().clone()
    return ref


@functools.cache
def _ours(name: str, pos: bool) -> Callable[[torch.Tensor], torch.Tensor]:
    import iqa
    from iqa.models.clipiqa import PYIQA_PAIRS, CLIPIQANet
    from tests.metrics.nr.test_clipiqa import our_clip

    tower = our_clip(_state())
    rule = "resize" if pos else "drop"
    if name == "clipiqa_pyiqa":
        return iqa.create(name, model=CLIPIQANet(tower, PYIQA_PAIRS, pos_embedding=rule))
    net = CLIPIQANet(tower, learned=True, pos_embedding=rule)
    assert net.prompt_learner is not None
    net.prompt_learner.set_context(_ctx())
    net.refresh_text()
    with mock.patch("iqa.features.clip.load_openai_clip"):  # never reached: the network is given
        return iqa.create(name, model=net)


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    """Each network is built on its case's first (untimed, warm-up) call: a variant's memory is its own."""
    have_ref = importlib.util.find_spec("pyiqa") is not None  # not imported here: its import peak is not ours
    return [
        Case(
            name=name,
            ours=lambda v=(name, pos): _ours(*v)(img),  # type: ignore[misc]
            reference=(lambda v=(model_type, pos): _pyiqa(*v)(img).reshape(-1)) if have_ref else None,  # type: ignore[misc]
            reference_name=f"pyiqa 0.1.16 CLIPIQA {model_type} (test-time reference)",
        )
        for name, model_type, pos in VARIANTS
    ]
