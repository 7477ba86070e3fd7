"""contrique* / contrique_fr* / qpt* for the registry contract: a seeded random ResNet-18 encoder and a
ridge head fitted to the noise level of noisy copies of the bundled photos, in the direction the
metric's spec declares (cached per process by feature kind and direction)."""

from __future__ import annotations

import functools

import numpy as np
import torch

from iqa.models.contrique import ContriqueModel, fr_features, two_scale_features
from iqa.models.quality_heads import RidgeHead
from iqa.training.ridge import fit_ridge
from tests.helpers.distort import noisy

LEVELS = (0.0, 0.01, 0.03, 0.1, 0.3)


def random_encoder(seed: int = 0, trunk: str = "resnet18") -> ContriqueModel:
    torch.manual_seed(seed)
    return ContriqueModel(trunk).eval()


def _photos() -> torch.Tensor:
    from tests.conftest import _photo

    return (
        torch.from_numpy(
            np.stack([_photo(n)[:256, :256] for n in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")])
        )
        .permute(0, 3, 1, 2)
        .float()
        / 255
    )


@functools.cache
def _features(fr: bool) -> tuple[ContriqueModel, torch.Tensor, np.ndarray]:
    enc, x = random_encoder(), _photos()
    feats, levels = [], []
    for s in LEVELS:
        y = noisy(x, s) if s else x
        feats.append(fr_features(enc, y, x) if fr else two_scale_features(enc, y))
        levels += [s] * len(x)
    return enc, torch.cat(feats), np.array(levels)


@functools.cache
def fitted(fr: bool, higher_is_better: bool) -> tuple[ContriqueModel, RidgeHead]:
    enc, feats, levels = _features(fr)
    fit = fit_ridge(feats.numpy(), levels * (-1 if higher_is_better else 1), alpha=1e-3)
    return enc, RidgeHead(torch.from_numpy(fit.coef), fit.intercept, {"higher_is_better": higher_is_better})
