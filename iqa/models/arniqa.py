"""ARNIQA, the network behind the ``arniqa*`` metrics, its input path and its released files.

Paper: Agnolucci, Galteri, Bertini, Del Bimbo, "ARNIQA: Learning Distortion Manifold for Image
Quality Assessment", WACV 2024. Reference implementation: ``miccunifi/ARNIQA`` (Apache-2.0),
``hubconf.py`` and ``models/resnet.py``; also used at test time: torchmetrics 1.9
(``torchmetrics.functional.image.arniqa``, Apache-2.0) and pyiqa 0.1.16 (``arniqa_arch.py``).

The network: a torchvision ResNet-50 without its classifier (``model``, the released encoder
``ARNIQA.pth``, trained self-supervised on KADIS-700k; its SimCLR ``projector`` is kept so the
file loads strictly but takes no part in scoring) embeds the image and its half-scale copy; each
2048-d embedding is L2-normalised, the two are concatenated (full scale first) and a linear
regressor per dataset (sklearn Ridge, released as TorchScript ``regressor_<dataset>.pth`` holding
``weights`` (1, 4096) and ``biases`` ()) predicts the dataset's MOS/DMOS. ``hubconf._scale_score``
maps that to [0, 1], higher is better: ``(raw - lo) / (hi - lo)``, then ``1 - s`` for DMOS labels.
The mapping is linear and the regressor unbounded, so [0, 1] is the nominal, not a guaranteed, range.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

from iqa.errors import InputError, WeightsError
from iqa.weights import load_torch_state, resolve_weights

Dataset = Literal["koniq", "kadid", "live", "csiq", "tid", "flive", "spaq", "clive"]
DATASETS: tuple[Dataset, ...] = get_args(Dataset)
Crops = Literal["full", "five"]
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
FEAT_DIM = 2048
CROP = 224  # side of the release's test crops (``center_corners_crop``)


@dataclass(frozen=True)
class Labels:
    """A released regressor: the file's dataset tag and the label scale ``hubconf.py`` maps to [0, 1]."""

    tag: str  # regressor_<tag>.pth
    lo: float
    hi: float
    dmos: bool  # lower label = better quality: the [0, 1] score is inverted


# hubconf.py available_datasets_ranges / available_datasets_mos_types (pyiqa maps flive to (0, 100):
# see the metric's docstring)
LABELS: dict[Dataset, Labels] = {
    "koniq": Labels("koniq10k", 1, 100, False),
    "kadid": Labels("kadid10k", 1, 5, False),
    "live": Labels("live", 1, 100, True),
    "csiq": Labels("csiq", 0, 1, True),
    "tid": Labels("tid2013", 0, 9, False),
    "flive": Labels("flive", 1, 100, False),
    "spaq": Labels("spaq", 1, 100, False),
    "clive": Labels("clive", 1, 100, False),
}


def encoder_id() -> str:
    """Manifest id of the released encoder ``ARNIQA.pth``."""
    return "arniqa_encoder"


def regressor_id(dataset: Dataset) -> str:
    """Manifest id of the released regressor of ``dataset`` (``regressor_<tag>.pth``)."""
    return f"arniqa_regressor_{LABELS[dataset].tag}"


class Encoder(nn.Module):
    """``models/resnet.py`` ResNet in the layout of ``ARNIQA.pth``: ``model.0..8`` and ``projector.0/2``."""

    def __init__(self, trunk: nn.Module | None = None, feat_dim: int = FEAT_DIM, embedding_dim: int = 128) -> None:
        super().__init__()
        if trunk is None:
            from torchvision.models import resnet50

            trunk = nn.Sequential(*list(resnet50(weights=None).children())[:-1])  # all but fc: ends in avgpool
        self.model = trunk
        self.projector = nn.Sequential(nn.Linear(feat_dim, feat_dim), nn.ReLU(), nn.Linear(feat_dim, embedding_dim))
        self.feat_dim = feat_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """L2-normalised pooled features (N, feat_dim); the projector is for training only."""
        return F.normalize(self.model(x).flatten(1), dim=1)


class Regressor(nn.Module):
    """The released TorchScript ``TorchLinearRegression``: ``weights`` (1, 2 feat_dim), ``biases`` ()."""

    def __init__(self, in_dim: int = 2 * FEAT_DIM) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.zeros(1, in_dim))
        self.biases = nn.Parameter(torch.zeros(()))

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return f @ self.weights[0] + self.biases


class ARNIQANet(nn.Module):
    """Encoder + the regressor of ``dataset``; ``forward(x, x_half)`` gives the raw label-scale score (N,)."""

    def __init__(self, dataset: Dataset = "koniq", encoder: Encoder | None = None) -> None:
        super().__init__()
        if dataset not in DATASETS:
            raise InputError(f"ARNIQA regressors exist for {DATASETS}, got {dataset!r}")
        self.dataset: Dataset = dataset
        self.encoder = encoder if encoder is not None else Encoder()
        self.regressor = Regressor(2 * self.encoder.feat_dim)

    def features(self, x: torch.Tensor, x_half: torch.Tensor) -> torch.Tensor:
        """[f(full), f(half)] (N, 2 feat_dim), each L2-normalised, from ImageNet-normalised inputs."""
        return torch.cat([self.encoder(x), self.encoder(x_half)], 1)

    def forward(self, x: torch.Tensor, x_half: torch.Tensor) -> torch.Tensor:
        return self.regressor(self.features(x, x_half))

    def scale(self, raw: torch.Tensor) -> torch.Tensor:
        """Label scale -> [0, 1] (nominal), higher is better, as ``hubconf._scale_score``."""
        lab = LABELS[self.dataset]
        s = (raw - lab.lo) / (lab.hi - lab.lo)
        return 1 - s if lab.dmos else s


def half_scale(x: torch.Tensor, antialias: bool = True) -> torch.Tensor:
    """The half-scale copy: (H // 2, W // 2), bilinear.

    ``antialias=True`` is the release's ``transforms.Resize((h // 2, w // 2))`` (PIL in the README
    and ``single_image_inference.py``, torchvision on tensors in torchmetrics; both antialias);
    ``False`` is pyiqa's ``F.interpolate(scale_factor=0.5)`` (no antialiasing).
    """
    if antialias:
        h, w = x.shape[-2:]
        return F.interpolate(x, size=(h // 2, w // 2), mode="bilinear", align_corners=False, antialias=True)
    return F.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False)


def normalise(x: torch.Tensor) -> torch.Tensor:
    """ImageNet mean/std, as the release's ``transforms.Normalize``."""
    mean = torch.tensor(MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def centre_corner_crops(x: torch.Tensor, size: int = CROP) -> torch.Tensor:
    """``utils_data.center_corners_crop``: centre, top-left, bottom-left, top-right, bottom-right, (N, 5, C, s, s)."""
    h, w = x.shape[-2:]
    cy, cx = h // 2 - size // 2, w // 2 - size // 2
    corners = ((cy, cx), (0, 0), (h - size, 0), (0, w - size), (h - size, w - size))
    return torch.stack([x[..., t : t + size, left : left + size] for t, left in corners], 1)


def arniqa_score(net: ARNIQANet, x: torch.Tensor, crops: Crops = "full", antialias: bool = True) -> torch.Tensor:
    """Scaled score (N,) of images ``x`` (N, 3, H, W) in [0, 1], in the network's dtype.

    ``crops="full"``: the whole image and its half-scale copy (the README's example, hubconf,
    torchmetrics, pyiqa). ``"five"``: the release's evaluation (``test.py``,
    ``single_image_inference.py``): the five 224 x 224 crops of each scale, paired by position,
    scores averaged (needs both sides of the image >= 448).
    """
    dtype = next(net.parameters()).dtype
    x = x.to(dtype)
    half = half_scale(x, antialias)
    if crops == "full":
        return net.scale(net(normalise(x), normalise(half)))
    n = len(x)
    full5 = centre_corner_crops(x).flatten(0, 1)
    half5 = centre_corner_crops(half).flatten(0, 1)
    return net.scale(net(normalise(full5), normalise(half5))).view(n, 5).mean(1)


def _read_regressor(path: Path) -> dict[str, torch.Tensor]:
    """Tensors of a released regressor: a TorchScript archive (read after the caller resolved the file)."""
    try:
        with warnings.catch_warnings():  # torch >= 2.9 deprecates TorchScript; the release is TorchScript
            warnings.simplefilter("ignore", FutureWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except (RuntimeError, ValueError) as e:
        raise WeightsError(f"{path}: not a TorchScript regressor as ARNIQA releases them ({e})") from e
    return {k: v.detach().float() for k, v in module.state_dict().items()}


def _load_strict(module: nn.Module, state: dict[str, torch.Tensor], source: object) -> None:
    try:
        module.load_state_dict(state, strict=True, assign=True)  # the module was built on the meta device
    except RuntimeError as e:
        raise WeightsError(f"{source}: not in the layout of the ARNIQA release ({e})") from e


def _given(path: str | Path, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise WeightsError(f"arniqa: {what} file {p} not found")
    return p


def load_arniqa(
    dataset: Dataset = "koniq", weights: str | Path | None = None, encoder_weights: str | Path | None = None
) -> ARNIQANet:
    """ARNIQA with the released encoder and ``dataset``'s regressor, in eval mode.

    ``weights`` / ``encoder_weights``: files of your own in the released layouts (a TorchScript
    regressor, a state dict of the encoder), loaded as given; None: the manifest's released files
    (sha256-verified; absent ones raise naming the file and ``iqa weights fetch ID``).
    """
    with torch.device("meta"):  # no random initialisation of weights that are replaced at once
        net = ARNIQANet(dataset)
    enc = _given(encoder_weights, "encoder") if encoder_weights is not None else resolve_weights(encoder_id())
    reg = _given(weights, "regressor") if weights is not None else resolve_weights(regressor_id(dataset))
    _load_strict(net.encoder, load_torch_state(enc), enc)
    _load_strict(net.regressor, _read_regressor(reg), reg)
    return net.eval().requires_grad_(False)
