"""DBCNN, the two-stream bilinear network behind the ``dbcnn*`` metrics, and its released files.

Paper: Zhang, Ma, Yan, Deng, Wang, "Blind Image Quality Assessment Using a Deep Bilinear
Convolutional Neural Network", IEEE TCSVT 30(1), 2020. Reference implementations: the authors'
``zwx8981/DBCNN-PyTorch`` (``DBCNN.py``, ``SCNN.py``, ``simple_demo.py``) and pyiqa 0.1.16
``dbcnn_arch.py`` (PolyForm-Noncommercial; read for key names, shapes and the order of operations,
never imported here), whose converted files ``DBCNN_<dataset>-<sha256 prefix>.pth`` (the state dict
under ``params``) are the layout built here, so they load with ``strict=True`` unchanged.

On the whole image (no resize, no crop: the release's test transform is ``ToTensor`` and the
ImageNet ``Normalize``):

1. stream 1, ``features1``: torchvision's VGG-16 ``features`` without the last max pool
   (13 conv + ReLU, 4 max pools; 512 channels at stride 16, floor(H/16) x floor(W/16));
2. stream 2, ``features2``: the S-CNN's convolutional part, 9 x (3x3 conv, BatchNorm, ReLU), four of
   them with stride 2 (128 channels; each stride-2 conv gives ceil(H/2)), pretrained by the authors on
   synthetic distortions (``DBCNN_scnn-7ea73d75.pth`` holds the whole S-CNN; every DBCNN file
   carries these layers already);
3. stream 2 resized to stream 1's grid when they differ (bilinear, ``align_corners=True``);
4. bilinear pooling: the 512 x 128 matrix sum over positions of a b^T divided by the number of positions,
   flattened, signed square root sqrt(x + 1e-8) (x >= 0 after the ReLUs), L2 normalisation;
5. one linear layer ``fc`` (65536 -> 1): the score, in the training labels' scale.

The S-CNN is built from plain ``Conv2d``/``BatchNorm2d`` modules (BatchNorm in eval mode), so the
metric's :func:`iqa.models.fusion.prepare_inference` folds them and stores every weight
channels-last; ``forward`` feeds channels-last input: ~1.3x faster on CPU than NCHW, the same
values to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import WeightsError
from iqa.weights import load_torch_state, resolve_weights

Variant = Literal["koniq", "livec", "livem", "live", "csiq", "tid2008", "tid2013"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
MEAN = (0.485, 0.456, 0.406)  # ImageNet, the release's Normalize
STD = (0.229, 0.224, 0.225)
STRIDE = 16  # both streams end at stride 16
MIN_SIZE = STRIDE  # VGG-16's four max pools leave no pixel below 16
VGG_CHANNELS, SCNN_CHANNELS = 512, 128
EPS = 1e-8  # inside the square root, as released
# S-CNN convolutional layers (in, out, stride), all 3x3 with padding 1 (SCNN.py)
SCNN_LAYERS = ((3, 48, 1), (48, 48, 2), (48, 64, 1), (64, 64, 2), (64, 64, 1), (64, 64, 2), (64, 128, 1),
               (128, 128, 1), (128, 128, 2))  # fmt: skip
SCNN_CLASSES = 39  # distortion type x level classes of the S-CNN pretraining


@dataclass(frozen=True)
class Release:
    """One released DBCNN file: the manifest id, its name, the training set and its label scale.

    Attributes:
        weights_id: manifest id.
        filename: the file name in the IQA-PyTorch releases (the suffix is its sha256 prefix).
        dataset: the training set.
        higher_is_better: the direction of the training labels (MOS: True; DMOS: False).
        scale: the training labels' scale, as released (the output layer is linear, not bounded).
    """

    weights_id: str
    filename: str
    dataset: str
    higher_is_better: bool
    scale: str


RELEASES: dict[Variant, Release] = {
    "koniq": Release("dbcnn_koniq", "DBCNN_KonIQ10k-2de81c0a.pth", "KonIQ-10k", True, "MOS ~0-1"),
    "livec": Release("dbcnn_livec", "DBCNN_LIVEC-83f6dad3.pth", "LIVE Challenge (CLIVE)", True, "MOS ~0-100"),
    "livem": Release("dbcnn_livem", "DBCNN_LIVEM-698474e3.pth", "LIVE Multiply Distorted", False, "DMOS ~0-100"),
    "live": Release("dbcnn_live", "DBCNN_LIVE-97262bf4.pth", "LIVE IQA release 2", False, "DMOS ~0-100"),
    "csiq": Release("dbcnn_csiq", "DBCNN_CSIQ-8677d071.pth", "CSIQ", False, "DMOS ~0-1"),
    "tid2008": Release("dbcnn_tid2008", "DBCNN_TID2008-4b47c5d1.pth", "TID2008", True, "MOS ~0-9"),
    "tid2013": Release("dbcnn_tid2013", "DBCNN_TID2013-485d021d.pth", "TID2013", True, "MOS ~0-9"),
}
SCNN_RELEASE = Release("dbcnn_scnn", "DBCNN_scnn-7ea73d75.pth", "synthetic distortions (39 classes)", True, "logits")


def _conv_bn_relu(cin: int, cout: int, k: int, stride: int) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, stride, k // 2), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]


def scnn_features() -> nn.Sequential:
    """The S-CNN's convolutional part (keys ``0.weight``, ``1.running_mean``, ... as in the release)."""
    return nn.Sequential(*[m for cin, cout, s in SCNN_LAYERS for m in _conv_bn_relu(cin, cout, 3, s)])


def vgg16_features() -> nn.Sequential:
    """The VGG-16 ``features`` of torchvision without the last pool, never downloading (the DBCNN file has them).

    Built by torchvision's own ``make_layers`` with its VGG-16 configuration, the layers
    ``vgg16(weights=None).features`` holds, without initialising the 120M-weight classifier DBCNN drops.
    """
    from torchvision.models import vgg

    return nn.Sequential(*list(vgg.make_layers(vgg.cfgs["D"]).children())[:-1])


class SCNN(nn.Module):
    """The whole S-CNN in the layout of ``DBCNN_scnn-7ea73d75.pth``: distortion-class logits (N, 39).

    Not needed to score: every DBCNN file holds its (fine-tuned) convolutional part as ``features2``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = scnn_features()
        self.pooling = nn.AdaptiveAvgPool2d(1)
        self.projection = nn.Sequential(*_conv_bn_relu(128, 256, 1, 1), *_conv_bn_relu(256, 256, 1, 1))
        self.classifier = nn.Linear(256, SCNN_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.projection(self.pooling(self.features(x))).flatten(1))


class DBCNNNet(nn.Module):
    """DBCNN in the released key layout; ``forward`` takes ImageNet-normalised images, gives (N,) scores.

    ``features1``/``features2``: None builds the release's VGG-16 and S-CNN streams; other modules
    must end at the same stride with ``channels`` = (their widths) (tests use small ones).
    """

    def __init__(self, features1: nn.Module | None = None, features2: nn.Module | None = None,
                 channels: tuple[int, int] = (VGG_CHANNELS, SCNN_CHANNELS)) -> None:  # fmt: skip
        super().__init__()
        self.features1 = features1 if features1 is not None else vgg16_features()
        self.features2 = features2 if features2 is not None else scnn_features()
        self.fc = nn.Linear(channels[0] * channels[1], 1)

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """The normalised bilinear feature (N, C1 * C2) of normalised images ``x``."""
        # channels-last convolutions: ~15 % faster VGG-16 on CPU (oneDNN), same values to float rounding
        x = x.contiguous(memory_format=torch.channels_last)
        a, b = self.features1(x), self.features2(x)
        if a.shape[-2:] != b.shape[-2:]:  # stride-2 convs round up, max pools round down
            b = F.interpolate(b, size=a.shape[-2:], mode="bilinear", align_corners=True)
        positions = a.shape[-2] * a.shape[-1]
        bilinear = torch.bmm(a.flatten(2), b.flatten(2).transpose(1, 2)) / positions  # (N, C1, C2)
        return F.normalize(torch.sqrt(bilinear.flatten(1) + EPS), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pooled(x))[:, 0]


def normalise(x: torch.Tensor) -> torch.Tensor:
    """ImageNet mean/std normalisation of images in [0, 1]."""
    mean = torch.tensor(MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def dbcnn_score(net: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Scores (N,) of images ``x`` (N, 3, H, W) in [0, 1], whole images, in the network's dtype."""
    dtype = next(net.parameters()).dtype
    return net(normalise(x.to(dtype)))


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    state = load_torch_state(path)
    state = state.get("params", state)  # pyiqa's DBCNN files wrap the state dict under "params"
    return {k.removeprefix("module."): v for k, v in state.items()}  # DataParallel prefixes, as pyiqa drops them


def load_dbcnn(variant: Variant = "koniq", weights: str | Path | None = None) -> DBCNNNet:
    """DBCNN holding the released file of ``variant`` (or ``weights``, a file of your own in its layout).

    Raises:
        WeightsNotFoundError: the released file is not on this machine (names it and ``iqa weights fetch``).
        WeightsError: ``weights`` is missing or not in the released layout.
    """
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"dbcnn: weights file {path} not found")
    else:
        path = resolve_weights(RELEASES[variant].weights_id)
    state = _read_state(path)
    with torch.device("meta"):  # no random initialisation of weights that are replaced at once
        net = DBCNNNet()
    try:
        net.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise WeightsError(f"{path}: not in the layout of pyiqa's DBCNN files ({e})") from e
    return net.eval().requires_grad_(False)
