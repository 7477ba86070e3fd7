"""PaQ-2-PiQ: iqa's ``paq2piq`` against pyiqa's ``PAQ2PIQ`` (test-time reference) with the same random weights.

Both score the image at its own size (the release resizes nothing); pyiqa's ResNet-18 is built
without ImageNet weights (its constructor asks torchvision for them: a download) and then gets the
same random state dict in the released layout. Networks are built on a case's first call (the
runner's untimed warm-up), so --memory measures each side alone (building included).
"""

from __future__ import annotations

import functools
import importlib.util
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import torch
from torch import nn

from benchmarks.learned import Case


@functools.cache
def _state() -> dict[str, torch.Tensor]:
    from iqa.models.paq2piq import PaQ2PiQ
    from tests.helpers.random_weights import randomize

    return randomize(PaQ2PiQ(), 0)


@functools.cache
def _ours() -> Callable[[torch.Tensor], torch.Tensor]:
    import iqa

    # the user's route: a file in the released layout, loaded (and prepared for inference) by the metric
    path = Path(tempfile.mkdtemp()) / "paq2piq.pth"
    torch.save(_state(), path)
    return iqa.create("paq2piq", weights=path)


@functools.cache
def _pyiqa() -> nn.Module:
    from pyiqa.archs import paq2piq_arch

    build = paq2piq_arch.tv.models.resnet18
    with mock.patch.object(paq2piq_arch.tv.models, "resnet18", lambda weights=None, **kw: build(weights=None, **kw)):
        net = paq2piq_arch.PAQ2PIQ(pretrained=False).eval()
    net.load_state_dict(_state())
    return net


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    have_ref = importlib.util.find_spec("pyiqa") is not None  # not imported here: its import peak is not ours
    return [
        Case(
            name="paq2piq",
            ours=lambda: _ours()(img),
            reference=(lambda: _pyiqa()(img).reshape(-1)) if have_ref else None,
            reference_name="pyiqa 0.1.16 PAQ2PIQ (test-time reference)",
        )
    ]
