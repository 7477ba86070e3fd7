"""NIMA: iqa's ``nima``, ``nima_vgg16_ava`` and ``nima_koniq`` against pyiqa's ``NIMA`` (test-time reference).

Both networks get the same random state dict in the released layout (pyiqa's timm trunk is built
with ``pretrained=False``: its constructor asks timm for ImageNet weights, a download); each side
runs its own input path (resize, centre crop, normalisation). Networks are built on a case's
first call (the runner's untimed warm-up), so --memory measures one variant at a time (its peak
includes building the network and the random state dict). ``nima_spaq`` is ``nima_koniq``'s
network with other weights: not timed twice.
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

VARIANTS = (
    ("nima", "inception_resnet_v2", 10),
    ("nima_vgg16_ava", "vgg16", 10),
    ("nima_koniq", "inception_resnet_v2", 1),
)


@functools.cache
def _pyiqa(trunk: str, outputs: int) -> nn.Module:
    import timm
    from pyiqa.archs import nima_arch

    create = timm.create_model
    with mock.patch.object(nima_arch.timm, "create_model", lambda name, pretrained=False, **kw: create(name, **kw)):
        net = nima_arch.NIMA(base_model_name=trunk, num_classes=outputs, pretrained=False).eval()
    net.load_state_dict(_state(trunk, outputs))
    return net


@functools.cache
def _state(trunk: str, outputs: int) -> dict[str, torch.Tensor]:
    from iqa.models.nima import NIMA
    from tests.helpers.random_weights import randomize

    return randomize(NIMA(trunk, outputs), 0)


@functools.cache
def _ours(name: str, trunk: str, outputs: int) -> Callable[[torch.Tensor], torch.Tensor]:
    import iqa

    # the user's route: a file in the released layout, loaded (and prepared for inference) by the metric
    path = Path(tempfile.mkdtemp()) / f"{name}.pth"
    torch.save(_state(trunk, outputs), path)
    return iqa.create(name, weights=path)


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    """Each network is built on its case's first (untimed, warm-up) call: a variant's memory is its own."""
    have_ref = importlib.util.find_spec("pyiqa") is not None  # not imported here: its import peak is not ours
    return [
        Case(
            name=name,
            ours=lambda v=(name, trunk, outputs): _ours(*v)(img),  # type: ignore[misc]
            reference=(lambda v=(trunk, outputs): _pyiqa(*v)(img).reshape(-1)) if have_ref else None,  # type: ignore[misc]
            reference_name="pyiqa 0.1.16 NIMA (test-time reference)",
        )
        for name, trunk, outputs in VARIANTS
    ]
