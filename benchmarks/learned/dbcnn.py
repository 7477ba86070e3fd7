"""DBCNN: iqa's ``dbcnn`` against pyiqa's ``DBCNN`` (test-time reference), same random file.

Both score the whole image (no resize), ImageNet-normalised; the variants differ only in weights,
so one case stands for all of them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import torch
from torch import nn

from benchmarks.learned import Case


def _pyiqa(path: Path) -> nn.Module | None:
    """pyiqa's DBCNN without its downloads (ImageNet VGG-16, S-CNN file): the DBCNN file overwrites both."""
    try:
        import torchvision
        from pyiqa.archs import dbcnn_arch
    except ImportError:
        return None
    vgg, load = torchvision.models.vgg, dbcnn_arch.load_pretrained_network

    def load_but_scnn(net: nn.Module, p: str, *a: object) -> None:
        if p != dbcnn_arch.default_model_urls["scnn"]:
            load(net, p, *a)

    with (
        mock.patch.object(torchvision.models, "vgg16", lambda weights=None: SimpleNamespace(features=vgg.make_layers(vgg.cfgs["D"]))),
        mock.patch.object(dbcnn_arch, "load_pretrained_network", load_but_scnn),
    ):  # fmt: skip
        return dbcnn_arch.DBCNN(pretrained_model_path=str(path)).eval()


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    import iqa
    from iqa.models.dbcnn import DBCNNNet

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "DBCNN_KonIQ10k-2de81c0a.pth"
        torch.manual_seed(0)
        torch.save({"params": DBCNNNet().state_dict()}, path)
        ours = iqa.create("dbcnn", weights=path)
        theirs = _pyiqa(path)
    return [
        Case(
            name="dbcnn",
            ours=lambda: ours(img),
            reference=(lambda: theirs(img).reshape(-1)) if theirs is not None else None,
            reference_name="pyiqa 0.1.16 DBCNN (test-time reference; whole image on both)",
        )
    ]
