"""CONTRIQUE network and its two-scale feature path (shared by the ``contrique*`` and ``qpt*`` metrics and training).

Madhusudana, Birkbeck, Wang, Adsumilli, Bovik, "Image Quality Assessment using Contrastive
Learning", IEEE TIP 2022. Reference implementation ``pavancm/CONTRIQUE``:
``modules/CONTRIQUE_model.py`` and ``demo_feat.py``. Module names follow the release (``encoder``
= ResNet-50 without avgpool/fc, ``projector``), so its checkpoint loads unchanged.

Features as ``demo_feat.py``: the image as 8-bit RGB, ToTensor only (no mean/std), full
resolution; a second copy resized by PIL's bicubic filter to (W // 2, H // 2); each through the
encoder, global-average-pooled and L2-normalised; concatenated to 4096 values.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from iqa.errors import InputError

TRUNKS = {"resnet50": 2048, "resnet18": 512}
HOW_TO_GET = ("Download CONTRIQUE_checkpoint25.tar (link in the README of github.com/pavancm/CONTRIQUE) and the repository's "
              "models/*.save, then run `iqa weights convert contrique CONTRIQUE_checkpoint25.tar --regressors models/`; "
              "or train an encoder with `iqa train contrique` and fit a head with `iqa fit-head contrique`.")  # fmt: skip


class ContriqueModel(nn.Module):
    """Encoder + projector; ``forward(x_i, x_j)`` returns the release's eight outputs."""

    def __init__(self, trunk: str = "resnet50", proj_dim: int = 128) -> None:
        super().__init__()
        import torchvision.models as tvm

        if trunk not in TRUNKS:
            raise InputError(f"CONTRIQUE trunk must be one of {sorted(TRUNKS)}, got {trunk!r}")
        self.trunk, d = trunk, TRUNKS[trunk]
        self.feature_dim = 2 * d
        self.encoder = nn.Sequential(
            *list(getattr(tvm, trunk)(weights=None).children())[:-2]
        )  # from scratch, as the paper
        self.projector = nn.Sequential(
            nn.Linear(d, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(),
            nn.Linear(d, proj_dim, bias=False), nn.BatchNorm1d(proj_dim),
        )  # fmt: skip

    def embed(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(global (N, 2048), patches (4N, 2048) image-major), both L2-normalised."""
        fmap = self.encoder(x)
        h = F.normalize(F.adaptive_avg_pool2d(fmap, 1).flatten(1), dim=1)
        patches = F.adaptive_avg_pool2d(fmap, 2).flatten(2).transpose(1, 2).reshape(-1, fmap.shape[1])
        return h, F.normalize(patches, dim=1)

    def forward(self, x_i: torch.Tensor, x_j: torch.Tensor) -> tuple[torch.Tensor, ...]:
        h_i, hp_i = self.embed(x_i)
        h_j, hp_j = self.embed(x_j)
        return (
            self.projector(h_i),
            self.projector(h_j),
            self.projector(hp_i),
            self.projector(hp_j),
            h_i,
            h_j,
            hp_i,
            hp_j,
        )


def to_uint8_images(x: torch.Tensor) -> list[np.ndarray]:
    """(N, 3, H, W) in [0, 1] -> the 8-bit HxWx3 arrays the release reads from files."""
    if x.dim() != 4 or x.shape[1] != 3:
        raise InputError(f"CONTRIQUE takes (N, 3, H, W) RGB in [0, 1], got {tuple(x.shape)}")
    return list((x.detach().clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy())


def half_scale(a: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
    """PIL bicubic resize to (W // 2, H // 2) (or ``size`` = (W, H): CONTRIQUE-FR sizes both to the reference's)."""
    h, w = a.shape[:2]
    return np.asarray(Image.fromarray(a).resize(size or (w // 2, h // 2), Image.Resampling.BICUBIC))


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255  # ToTensor: /255, no mean/std


def _pair(model: ContriqueModel, full: np.ndarray, half: np.ndarray) -> torch.Tensor:
    dev = next(model.parameters()).device
    return torch.cat([model.embed(_tensor(full).to(dev))[0], model.embed(_tensor(half).to(dev))[0]], 1)


@torch.no_grad()
def two_scale_features(model: ContriqueModel, x: torch.Tensor) -> torch.Tensor:
    """[h(full), h(half)] per image, (N, 2 x 2048) float32; images run one at a time (sizes may differ)."""
    model.eval()
    return torch.cat([_pair(model, a, half_scale(a)) for a in to_uint8_images(x)]).cpu()


@torch.no_grad()
def fr_features(model: ContriqueModel, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    """CONTRIQUE-FR (``demo_score_FR.py``): |features(ref) - features(img)|, both half copies at the reference's half size."""
    model.eval()
    out = []
    for a, r in zip(to_uint8_images(img), to_uint8_images(ref)):
        size = (r.shape[1] // 2, r.shape[0] // 2)
        out.append((_pair(model, r, half_scale(r, size)) - _pair(model, a, half_scale(a, size))).abs())
    return torch.cat(out).cpu()
