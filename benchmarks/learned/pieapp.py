"""PieAPP: iqa's ``pieapp`` against pyiqa's ``PieAPP`` (test-time reference) with the same random weights.

One seeded random state dict in the released layout of ``PieAPPv0.1-0937b014.pth`` (a plain state
dict, ~250 MB), saved as released and loaded by iqa through ``weights=FILE``; pyiqa's network gets the
same state dict. Both run their own input path at pyiqa's default stride 27 (iqa's ``sampling="sparse"``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

from benchmarks.learned import Case


def _state() -> dict[str, torch.Tensor]:
    from iqa.models.pieapp import PieAPPNet
    from tests.helpers.random_weights import randomize

    with torch.device("meta"):  # shapes only
        shapes = PieAPPNet()
    state = randomize(shapes, 0)
    for k in ("fc2_weight.weight", "fc2_weight.bias"):  # positive patch weights, as a trained model has
        state[k] = state[k].abs()
    return state


def _pyiqa(state: dict[str, torch.Tensor]) -> torch.nn.Module | None:
    try:
        import pyiqa
    except ImportError:
        return None
    net = pyiqa.create_metric("pieapp", pretrained=False, device="cpu").net
    net.load_state_dict(state, strict=True)
    return net.eval()


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    import iqa

    state = _state()
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "PieAPPv0.1-0937b014.pth"
        torch.save(state, f)
        ours = iqa.create("pieapp", weights=f)
    theirs = _pyiqa(state)
    return [
        Case(
            name="pieapp",
            ours=lambda: ours(img, ref),
            reference=None if theirs is None else lambda: theirs(img, ref).reshape(-1),
            reference_name="pyiqa 0.1.16 PieAPP (test-time reference)",
        )
    ]
