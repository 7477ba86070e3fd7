"""HyperIQA: iqa's ``hyperiqa`` against pyiqa's ``HyperNet`` (test-time reference), same random file.

Both score 25 crops of 224 on the same 5 x 5 grid (iqa's default is pyiqa's crops).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

import torch
from torch import nn

from benchmarks.learned import Case


def _pyiqa(path: Path) -> nn.Module | None:
    try:
        import timm
        from pyiqa.archs.hypernet_arch import HyperNet
    except ImportError:
        return None
    create = timm.create_model
    with mock.patch.object(
        timm, "create_model", lambda name, pretrained=False, **k: create(name, pretrained=False, **k)
    ):
        return HyperNet(pretrained_model_path=str(path)).eval()


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    import iqa
    from iqa.models.hyperiqa import HyperIQANet

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "HyperIQA-resnet50-koniq10k-c96c41b1.pth"
        torch.manual_seed(0)
        torch.save({"params": HyperIQANet().state_dict()}, path)
        ours = iqa.create("hyperiqa", weights=path)
        theirs = _pyiqa(path)
    return [
        Case(
            name="hyperiqa",
            ours=lambda: ours(img),
            reference=(lambda: theirs(img).reshape(-1)) if theirs is not None else None,
            reference_name="pyiqa 0.1.16 HyperNet (test-time reference; 25 grid crops on both)",
        )
    ]
