"""ARNIQA: iqa's ``arniqa`` against pyiqa's ``ARNIQA`` (test-time reference) with the same random files.

Both run pyiqa's input path (whole image, plain bilinear half scale: iqa's ``antialias=False``) so
the scores agree and the timings compare the same work.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

import torch
from torch import nn

from benchmarks.learned import Case


class _TorchLinearRegression(nn.Module):
    def __init__(self, w: torch.Tensor, b: torch.Tensor) -> None:
        super().__init__()
        self.weights, self.biases = nn.Parameter(w), nn.Parameter(b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weights.t() + self.biases


def _files(folder: Path) -> tuple[Path, Path]:
    from iqa.models.arniqa import Encoder
    from tests.helpers.random_weights import randomize

    enc, reg = folder / "ARNIQA.pth", folder / "regressor_koniq10k.pth"
    torch.save(randomize(Encoder(), 0), enc)
    g = torch.Generator().manual_seed(1)
    torch.jit.script(_TorchLinearRegression(40 * torch.randn(1, 4096, generator=g), torch.tensor(50.0))).save(str(reg))
    return enc, reg


def _pyiqa(enc: Path, reg: Path) -> nn.Module | None:
    try:
        import torchvision
        from pyiqa.archs import arniqa_arch
    except ImportError:
        return None
    names = {"0": "conv1", "1": "bn1", "4": "layer1", "5": "layer2", "6": "layer3", "7": "layer4"}
    state = torch.load(enc, weights_only=True)
    imagenet = {"fc.weight": torch.zeros(1000, 2048), "fc.bias": torch.zeros(1000)}
    for k, v in state.items():
        if k.startswith("model."):
            i, rest = k[len("model.") :].split(".", 1)
            imagenet[f"{names[i]}.{rest}"] = v
    with (
        mock.patch.object(torchvision.models._api.WeightsEnum, "get_state_dict", lambda self, *a, **k: imagenet),
        mock.patch.object(torch.hub, "load_state_dict_from_url", lambda url, **k: state),
        mock.patch.object(arniqa_arch, "load_file_from_url", lambda url, **k: str(reg)),
    ):
        return arniqa_arch.ARNIQA("koniq").eval()


def cases(img: torch.Tensor, ref: torch.Tensor) -> list[Case]:
    import iqa

    with tempfile.TemporaryDirectory() as d:
        enc, reg = _files(Path(d))
        ours = iqa.create("arniqa", weights=reg, encoder_weights=enc, antialias=False)
        theirs = _pyiqa(enc, reg)
    return [
        Case(
            name="arniqa",
            ours=lambda: ours(img),
            reference=(lambda: theirs(img).reshape(-1)) if theirs is not None else None,
            reference_name="pyiqa 0.1.16 ARNIQA (test-time reference; antialias=False on both)",
        )
    ]
