"""MUSIQ: iqa's ``musiq_koniq`` / ``musiq_ava`` against pyiqa's ``MUSIQ`` (test-time reference).

Both networks load the same random state dict in the released key layout (the released sizes);
each runs its own preprocessing from the same decoded image (pyiqa: multi-scale patches padded to
49 + 144 tokens with an attention mask; iqa: the same tokens without the padding). Networks are
built on a case's first call (the runner's untimed warm-up), so --memory measures one variant at a
time (its peak includes building the network and the random state dict). The koniq case stands for
spaq and paq2piq (the same network with other weights).
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable

import torch
from torch import nn

from benchmarks.learned import Case

VARIANTS = (("koniq", 1), ("ava", 10))


@functools.cache
def _state(variant: str) -> dict[str, torch.Tensor]:
    from iqa.models.musiq import MUSIQ
    from tests.helpers.random_weights import randomize

    return randomize(MUSIQ(variant), 0)  # type: ignore[arg-type]


@functools.cache
def _ours(variant: str) -> Callable[[torch.Tensor], torch.Tensor]:
    import iqa
    from iqa.models.musiq import MUSIQ

    net = MUSIQ(variant)  # type: ignore[arg-type]
    net.load_state_dict(_state(variant), strict=True)
    return iqa.create(f"musiq_{variant}", model=net.eval())


@functools.cache
def _pyiqa(variant: str, num_class: int) -> nn.Module:
    from pyiqa.archs.musiq_arch import MUSIQ

    net = MUSIQ(pretrained=False, num_class=num_class).eval()
    net.load_state_dict(_state(variant), strict=True)
    return net


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    """Each network is built on its case's first (untimed, warm-up) call: a variant's memory is its own."""
    have_ref = importlib.util.find_spec("pyiqa") is not None  # not imported here: its import peak is not ours
    return [
        Case(
            name=f"musiq_{variant}",
            ours=lambda v=variant: _ours(v)(img),  # type: ignore[misc]
            reference=(lambda v=(variant, num_class): _pyiqa(*v)(img).reshape(-1)) if have_ref else None,  # type: ignore[misc]
            reference_name="pyiqa 0.1.16 MUSIQ (test-time reference)",
        )
        for variant, num_class in VARIANTS
    ]
