"""HyperIQA, the network behind the ``hyperiqa`` metric, its crops and its released file.

Paper: Su, Yan, Zhu, Zhang, Ge, Sun, Zhang, "Blindly Assess Image Quality in the Wild Guided by a
Self-Adaptive Hyper Network", CVPR 2020. Reference implementations: ``SSL92/hyperIQA`` (MIT;
``models.py``, ``data_loader.py``, ``demo.py``) and pyiqa 0.1.16 ``hypernet_arch.py``, whose
converted KonIQ-10k file ``HyperIQA-resnet50-koniq10k-c96c41b1.pth`` (state dict under ``params``)
is the layout built here, so that file loads unchanged.

On a 224 x 224 ImageNet-normalised crop: a ResNet-50 (``base_model``, timm/torchvision key names,
no classifier) gives layer1..layer4 features. The local distortion aware modules
(``lda_modules``: 1x1 conv, 7x7 average pool, linear) turn them into a 224-d vector v (16 + 16 +
16 + 176). From layer4, ``conv1`` (three 1x1 convs) makes the hyper network's 112 x 7 x 7 input h,
from which ``fc_w_modules`` (3x3 convs, and a pooled linear for the last layer) and
``fc_b_modules`` (pooled linears) generate the weights and biases of a per-image target network:
224 -> 112 -> 56 -> 28 -> 14 (each followed by a sigmoid) -> 1, applied to v. The score of an
image is the mean over its crops.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError, WeightsError
from iqa.weights import load_torch_state, resolve_weights

Crops = Literal["grid", "random"]
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
CROP = 224
FC = (112, 56, 28, 14, 1)  # target network widths after its 224-d input
LDA_OUT = 16
HYPER_IN = 112
FEATURE = 7  # side of layer4 on a 224 crop
RELEASE_SIZE = (512, 384)  # data_loader.py koniq-10k test transform: Resize((512, 384)), i.e. H 512, W 384


def weights_id() -> str:
    """Manifest id of pyiqa's converted KonIQ-10k file."""
    return "hyperiqa_koniq"


class Trunk(nn.Module):
    """ResNet-50 stem and stages under timm's/torchvision's names; ``forward`` returns layer1..layer4."""

    def __init__(self) -> None:
        super().__init__()
        from torchvision.models import resnet50

        r = resnet50(weights=None)
        self.conv1, self.bn1, self.maxpool = r.conv1, r.bn1, r.maxpool
        self.layer1, self.layer2, self.layer3, self.layer4 = r.layer1, r.layer2, r.layer3, r.layer4

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        feats = []
        for stage in (self.layer1, self.layer2, self.layer3, self.layer4):
            x = stage(x)
            feats.append(x)
        return feats


def _lda(cin: int, squeeze: int | None, out: int) -> nn.Sequential:
    """Local distortion aware module: (1x1 conv to ``squeeze``), 7x7 average pool, flatten, linear."""
    if squeeze is None:  # layer4 (7 x 7): pooled straight to one vector
        return nn.Sequential(nn.AvgPool2d(7, 7), nn.Flatten(), nn.Linear(cin, out))
    side = {256: 8, 512: 4, 1024: 2}[cin]  # 56, 28, 14 pooled by 7
    return nn.Sequential(nn.Conv2d(cin, squeeze, 1, bias=False), nn.AvgPool2d(7, 7), nn.Flatten(),
                         nn.Linear(squeeze * side * side, out))  # fmt: skip


def _pooled_linear(out: int) -> nn.Sequential:
    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(HYPER_IN, out))


class HyperIQANet(nn.Module):
    """HyperIQA in pyiqa's key layout; ``forward`` takes normalised 224 x 224 crops and gives (N,) scores.

    ``trunk``: None builds the ResNet-50 of the release; another module must return the four maps
    (256 x 56 x 56, 512 x 28 x 28, 1024 x 14 x 14, 2048 x 7 x 7) of a crop (tests use a small one).
    """

    def __init__(self, trunk: nn.Module | None = None) -> None:
        super().__init__()
        self.base_model = trunk if trunk is not None else Trunk()
        target_in = CROP
        self.lda_modules = nn.ModuleList([_lda(256, 16, LDA_OUT), _lda(512, 32, LDA_OUT), _lda(1024, 64, LDA_OUT),
                                          _lda(2048, None, target_in - 3 * LDA_OUT)])  # fmt: skip
        ins = (target_in, *FC[:3])
        self.fc_w_modules = nn.ModuleList(
            [nn.Conv2d(HYPER_IN, ins[i] * FC[i] // FEATURE**2, 3, padding=1) for i in range(4)]
            + [_pooled_linear(FC[3])]
        )
        self.fc_b_modules = nn.ModuleList([_pooled_linear(c) for c in FC])
        self.conv1 = nn.Sequential(
            nn.Conv2d(2048, 1024, 1), nn.ReLU(inplace=True), nn.Conv2d(1024, 512, 1), nn.ReLU(inplace=True),
            nn.Conv2d(512, HYPER_IN, 1), nn.ReLU(inplace=True),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] != (CROP, CROP):
            raise InputError(f"HyperIQA scores 224 x 224 crops, got {tuple(x.shape[-2:])}")
        feats = self.base_model(x)
        v = torch.cat([m(f) for m, f in zip(self.lda_modules, feats)], 1)  # (N, 224)
        h = self.conv1(feats[-1])  # (N, 112, 7, 7)
        n = len(x)
        for i, (make_w, make_b) in enumerate(zip(self.fc_w_modules, self.fc_b_modules)):
            w = make_w(h).reshape(n, FC[i], -1)  # (N, out, in): each image's own target layer
            v = torch.bmm(w, v.unsqueeze(2)).squeeze(2) + make_b(h)
            if i < len(FC) - 1:
                v = torch.sigmoid(v)
        return v[:, 0]


def normalise(x: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def grid_crops(x: torch.Tensor, num: int = 25) -> torch.Tensor:
    """The crops of pyiqa's ``uniform_crop``: (N, num, 3, 224, 224), a ceil(sqrt(num))-square grid, row by row.

    Images whose short side is <= 224 are first enlarged (bilinear) so it becomes 225; the step
    is (side - 224) // floor(sqrt(num)), so the grid stops short of the bottom and right edges as in
    the reference.
    """
    h, w = x.shape[-2:]
    if min(h, w) <= CROP:
        x = F.interpolate(x, scale_factor=(CROP + 1) / min(h, w), mode="bilinear", align_corners=False)
        h, w = x.shape[-2:]
    k, side = math.isqrt(num), math.ceil(math.sqrt(num))
    sh, sw = (h - CROP) // k, (w - CROP) // k
    pos = [(i * sh, j * sw) for i in range(side) for j in range(side)][:num]
    return torch.stack([x[..., t : t + CROP, left : left + CROP] for t, left in pos], 1)


def random_crops(x: torch.Tensor, num: int = 25, seed: int = 0) -> torch.Tensor:
    """The release's test crops, (N, num, 3, 224, 224).

    ``Resize((512, 384))`` (antialiased bilinear, as PIL) then ``num`` ``RandomCrop(224)``
    positions, drawn from a generator seeded with ``seed`` (the same positions for every image, so
    a score never depends on the batch).
    """
    x = F.interpolate(x, size=RELEASE_SIZE, mode="bilinear", align_corners=False, antialias=True)
    g = torch.Generator().manual_seed(seed)
    tops = torch.randint(0, RELEASE_SIZE[0] - CROP + 1, (num,), generator=g).tolist()
    lefts = torch.randint(0, RELEASE_SIZE[1] - CROP + 1, (num,), generator=g).tolist()
    return torch.stack([x[..., t : t + CROP, left : left + CROP] for t, left in zip(tops, lefts)], 1)


def hyperiqa_score(net: HyperIQANet, x: torch.Tensor, crops: Crops = "grid", num_crops: int = 25,
                   seed: int = 0, chunk: int = 32) -> torch.Tensor:  # fmt: skip
    """Mean crop score (N,) of images ``x`` (N, 3, H, W) in [0, 1], in the network's dtype."""
    dtype = next(net.parameters()).dtype
    x = x.to(dtype)
    if crops == "grid":  # normalised once per image, not once per (overlapping) crop: the same values
        c = grid_crops(normalise(x), num_crops) if min(x.shape[-2:]) > CROP else normalise(grid_crops(x, num_crops))
    else:
        c = normalise(random_crops(x, num_crops, seed))
    flat = c.flatten(0, 1)
    out = torch.cat([net(flat[i : i + chunk]) for i in range(0, len(flat), chunk)])
    return out.view(len(x), num_crops).mean(1)


def load_hyperiqa(weights: str | Path | None = None) -> HyperIQANet:
    """HyperIQA holding pyiqa's converted KonIQ-10k file (or ``weights``, a file of your own in its layout)."""
    if weights is not None:
        path = Path(weights)
        if not path.is_file():
            raise WeightsError(f"hyperiqa: weights file {path} not found")
    else:
        path = resolve_weights(weights_id())
    state = load_torch_state(path)
    state = state.get("params", state)  # pyiqa's files wrap the state dict under "params"
    with torch.device("meta"):  # no random initialisation of weights that are replaced at once
        net = HyperIQANet()
    try:
        net.load_state_dict(state, strict=True, assign=True)
    except RuntimeError as e:
        raise WeightsError(f"{path}: not in the layout of pyiqa's HyperIQA file ({e})") from e
    return net.eval().requires_grad_(False)
