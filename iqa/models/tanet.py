"""TANet, the theme-aware aesthetics network behind the ``tunet`` metric, and its input path.

Paper: He, Zhang, Wang, Chen, Yuan, Yang, Dong, "Rethinking Image Aesthetics Assessment: Models,
Datasets and Benchmarks", IJCAI 2022. Reference implementation: ``woshidandan/TANet``,
``code/TAD66K/train_nni.py`` (and ``code/AVA/`` for the 10-bin head). Module and parameter names
follow the release, so its checkpoints load without renaming (``module.`` prefixes stripped; loading
and conversion in :mod:`iqa.models.tanet_weights`).

Three branches on one ImageNet-normalised (N, 3, 224, 224) input:

- theme (``res365_last``): ResNet-18 with the 365-way Places365 head, raw logits t (N, 365);
  a hypernetwork (``hypernet``) makes per-image weights W (N, 100) and biases b (N, 1) from t;
  ``tygertnet`` maps t to q = dropout(PReLU(BN(Linear(t)))) (N, 100);
- RGB (``head_rgb``): 12 x 12 average-pooled pixels, cosine similarity of every pair of the 144
  RGB vectors (no learned projections), (N, 20736) -> ReLU, dropout, Linear, softmax (N, 10);
- aesthetics (``mobileNet``): MobileNetV2 features, 7 x 7 average pool, ReLU, dropout, Linear (N, 10);
- head: concatenated (N, 30) -> ReLU, dropout, Linear(30, 1), sigmoid (TAD66k, score/10) or
  Linear(30, 10), softmax (AVA, a distribution over ratings 1..10).

The theme output x_theme (N, 10) is where the release and the paper differ. Released ("compat"):
F.linear(q, W, b) is (N, N), entry (i, j) = q_i . W_j + b_i, so every image's theme vector mixes
the weights generated for the *other* images of the batch (TAD66k: softmax over j, then
adaptive-average-pooled to 10 bins; AVA: a fresh BatchNorm1d(N) in training mode and PReLU). An
image alone gets ten 1.0s (TAD66k) and the AVA variant fails at N = 1. The default "per_image"
mode applies each image's own weights as the paper describes (q_i * W_i, then the 100 products
summed in 10 groups of 10, plus b_i): a score never depends on the rest of the batch. Released
weights are only meaningful in compat mode; per-image mode is for models trained in it.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError

Mode = Literal["per_image", "compat"]
Variant = Literal["tad66k", "ava"]
MODES: tuple[Mode, ...] = get_args(Mode)
VARIANTS: tuple[Variant, ...] = get_args(Variant)
# The release's test transform: ImageNet mean/std after a 224 x 224 resize.
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def preprocess(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] -> (N, 3, 224, 224) ImageNet-normalised, float32.

    The release's ``Resize((224, 224))`` on the PIL image is bilinear with antialiasing; so is this.
    """
    x = F.interpolate(x.float(), size=(224, 224), mode="bilinear", align_corners=False, antialias=True)
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def score_of(out: torch.Tensor, variant: Variant) -> torch.Tensor:
    """Network output -> 1-10 scale: 10 x sigmoid (TAD66k, labels are score / 10) or the mean rating (AVA)."""
    if variant == "tad66k":
        return 10 * out
    return (out * torch.arange(1, 11, dtype=out.dtype, device=out.device)).sum(1)


def _conv_bn(inp: int, oup: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.ReLU(inplace=True))


def _conv1x1_bn(inp: int, oup: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup), nn.ReLU(inplace=True))


class InvertedResidual(nn.Module):
    """MobileNetV2 block in the NIMA-style layout the release uses (``conv`` = 8 layers, always expanded)."""

    def __init__(self, inp: int, oup: int, stride: int, expand: int) -> None:
        super().__init__()
        hid = inp * expand
        self.residual = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, hid, 1, 1, 0, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, hid, 3, stride, 1, groups=hid, bias=False), nn.BatchNorm2d(hid), nn.ReLU6(inplace=True),
            nn.Conv2d(hid, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv(x) if self.residual else self.conv(x)


# (expansion t, channels c, repeats n, first stride s) of MobileNetV2 width 1.0
_MBV2 = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def mobilenet_v2_features() -> nn.Sequential:
    """MobileNetV2 (width 1.0) convolutional features, 1280 channels at stride 32."""
    layers: list[nn.Module] = [_conv_bn(3, 32, 2)]
    cin = 32
    for t, c, n, s in _MBV2:
        for i in range(n):
            layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t))
            cin = c
    layers.append(_conv1x1_bn(cin, 1280))
    return nn.Sequential(*layers)


class AestheticsBranch(nn.Module):
    """``mobileNet`` (L5): trunk features, global average pool, ReLU, dropout 0.75, Linear(dim, 10)."""

    def __init__(self, trunk: nn.Module | None = None, dim: int = 1280) -> None:
        super().__init__()
        self.base_model = nn.Sequential(
            trunk if trunk is not None else mobilenet_v2_features(), nn.AdaptiveAvgPool2d(1)
        )
        self.head = nn.Sequential(nn.ReLU(inplace=True), nn.Dropout(0.75), nn.Linear(dim, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.base_model(x).flatten(1))


class HyperNet(nn.Module):
    """``hypernet`` (L1): per-image weights (N, 100) and bias (N, 1) from the theme logits."""

    def __init__(self, dim: int = 365) -> None:
        super().__init__()
        self.last_out_w = nn.Linear(dim, 100)
        self.last_out_b = nn.Linear(dim, 1)

    def forward(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.last_out_w(t), self.last_out_b(t)


class TargetNet(nn.Module):
    """``tygertnet`` (L2 + L3): the theme features and their product with the generated weights."""

    def __init__(self, dim: int = 365, variant: Variant = "tad66k") -> None:
        super().__init__()
        self.variant = variant
        self.fc1 = nn.Linear(dim, 100)
        self.bn1 = nn.BatchNorm1d(100)
        self.relu1 = nn.PReLU()
        self.drop1 = nn.Dropout(0.5)
        self.relu7 = nn.PReLU()  # used by the AVA variant; present (and saved) in both

    def features(self, t: torch.Tensor) -> torch.Tensor:
        return self.drop1(self.relu1(self.bn1(self.fc1(t))))

    def forward(self, t: torch.Tensor, w: torch.Tensor, b: torch.Tensor, mode: Mode) -> torch.Tensor:
        q = self.features(t)
        if mode == "per_image":
            per = (q * w).view(len(q), 10, 10).sum(-1) + b  # each image's own weights, 10 groups
            return torch.softmax(per, 1) if self.variant == "tad66k" else self.relu7(per)
        return self._compat(q, w, b)

    def _compat(self, q: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        # (N, N): row i pairs image i's features with every image's generated weights, plus b_i
        # (the release's F.linear(q, W, b) with b of shape (N, 1) broadcasts b down the rows).
        mixed = q @ w.t() + b
        if self.variant == "tad66k":
            mixed = torch.softmax(mixed, 1)
        else:
            if len(q) == 1:
                raise InputError(
                    "the released AVA TANet cannot score a batch of one (BatchNorm1d over the batch); use mode='per_image'"
                )
            mixed = self.relu7(F.batch_norm(mixed, None, None, training=True, eps=1e-5))
        return F.adaptive_avg_pool1d(mixed[:, None], 10)[:, 0]


def rgb_attention(x: torch.Tensor) -> torch.Tensor:
    """Cosine similarity between all pairs of the 12 x 12 pooled RGB vectors, flattened (N, 20736)."""
    v = F.adaptive_avg_pool2d(x, 12).flatten(2)  # (N, 3, 144)
    sim = v.transpose(1, 2) @ v
    norm = v.norm(dim=1)
    return (sim / (norm[:, :, None] * norm[:, None, :]).clamp_min(1e-8)).flatten(1)


class TANet(nn.Module):
    """The full network; ``forward`` returns (N,) in [0, 1] (TAD66k) or (N, 10) probabilities (AVA)."""

    def __init__(self, *, variant: Variant = "tad66k", mode: Mode = "per_image", theme_trunk: nn.Module | None = None,
                 theme_dim: int = 365, aes_trunk: nn.Module | None = None, aes_dim: int = 1280) -> None:  # fmt: skip
        super().__init__()
        if variant not in VARIANTS or mode not in MODES:
            raise InputError(f"variant must be one of {VARIANTS} and mode one of {MODES}, got {variant!r}, {mode!r}")
        self.variant, self.mode = variant, mode
        if theme_trunk is None:
            from torchvision.models import resnet18

            theme_trunk = resnet18(num_classes=365)
        self.res365_last = theme_trunk
        self.hypernet = HyperNet(theme_dim)
        self.tygertnet = TargetNet(theme_dim, variant)
        self.mobileNet = AestheticsBranch(aes_trunk, aes_dim)
        self.head_rgb = nn.Sequential(nn.ReLU(), nn.Dropout(0.75), nn.Linear(144 * 144, 10), nn.Softmax(dim=1))
        out = (
            nn.Sequential(nn.Linear(30, 1), nn.Sigmoid())
            if variant == "tad66k"
            else nn.Sequential(nn.Linear(30, 10), nn.Softmax(dim=1))
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Dropout(0.75), *out)

    def branches(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The three (N, 10) branch outputs: aesthetics, theme, rgb."""
        t = self.res365_last(x)
        w, b = self.hypernet(t)
        return {
            "aesthetics": self.mobileNet(x),
            "theme": self.tygertnet(t, w, b, self.mode),
            "rgb": self.head_rgb(rgb_attention(x)),
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        br = self.branches(x)
        out = self.head(torch.cat([br["aesthetics"], br["theme"], br["rgb"]], 1))
        return out[:, 0] if self.variant == "tad66k" else out
