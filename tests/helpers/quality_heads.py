"""contrique / contrique_fr / qpt for the registry contract: a seeded random ResNet-18 encoder and a
ridge head fitted to the noise level of noisy copies of the bundled photos (cached per process)."""

from __future__ import annotations

import functools

import numpy as np
import torch

import iqa
from iqa.metrics._quality_heads import RidgeHead
from iqa.metrics.nr._contrique import ContriqueModel, fr_features, two_scale_features
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
def _fitted(name: str) -> tuple[ContriqueModel, RidgeHead]:
    enc, x = random_encoder(), _photos()
    feats, target = [], []
    for s in LEVELS:
        y = noisy(x, s) if s else x
        feats.append(fr_features(enc, y, x) if name == "contrique_fr" else two_scale_features(enc, y))
        target += [s] * len(x)
    fr = name == "contrique_fr"
    fit = fit_ridge(torch.cat(feats).numpy(), np.array(target) * (1 if fr else -1), alpha=1e-3)
    return enc, RidgeHead(torch.from_numpy(fit.coef), fit.intercept, {"higher_is_better": not fr})


def head_for(name: str, **options: object) -> object:
    enc, head = _fitted(name)
    return iqa.create(name, model=enc, head=head, **options)
