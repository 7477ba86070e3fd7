"""``explain_fid`` on folders: what can fail is refused before extraction, features are cached.

Issue 20 item 10: a singular covariance was reported only after every feature had been extracted,
and the rerun with a ridge extracted them again. The extractor here counts its forward passes
(the folder extraction's calls; explaining an image calls ``spatial``, not ``forward``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from iqa.api.settings import RunSettings
from iqa.errors import InputError
from iqa.explain.fid_explain import explain_fid
from tests.explain.test_sensitivity_maps import TinyExtractor


class CountingExtractor(TinyExtractor):
    """TinyExtractor (8-d features) that counts the images its forward pass sees."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen += len(x)
        return super().forward(x)


def _folder(root: Path, n: int, seed: int, gamma: float = 1.0) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        a = (rng.random((24, 24, 3)) ** gamma * 255).round().astype(np.uint8)
        Image.fromarray(a).save(root / f"{i:02d}.png")
    return root


@pytest.fixture()
def folders(tmp_path: Path) -> tuple[Path, Path]:
    return _folder(tmp_path / "gen", 12, 1, gamma=1.6), _folder(tmp_path / "ref", 14, 2)


def test_too_few_images_are_refused_before_any_extraction(folders: tuple[Path, Path], tmp_path: Path) -> None:
    gen, ref = folders
    few = _folder(tmp_path / "few", 5, 3)  # 5 images <= 8 feature dimensions: singular covariance
    ext = CountingExtractor()
    with pytest.raises(InputError, match=r"5 images for tiny's 8-d features.*--ridge.*before extracting"):
        explain_fid(few, ref, extractor=ext, images=2)
    with pytest.raises(InputError, match="the reference folder"):
        explain_fid(gen, few, extractor=ext, images=2)
    with pytest.raises(InputError, match="weighting"):
        explain_fid(gen, ref, extractor=ext, weighting="relu")
    with pytest.raises(InputError, match=r"not found in .*\['nope.png'\]"):
        explain_fid(gen, ref, extractor=ext, images=["00.png", "nope.png"])
    assert ext.seen == 0  # nothing was extracted for any of these
    exp = explain_fid(few, ref, extractor=ext, images=2, ridge=1e-3)  # the ridge makes it computable
    assert ext.seen == 5 + 14 and exp.label == "FD (ridge 0.001)" and np.isfinite(exp.fid)


def test_a_rerun_reuses_the_cached_features(folders: tuple[Path, Path], tmp_path: Path) -> None:
    gen, ref = folders
    settings = RunSettings(batch_size=4, cache_dir=tmp_path / "cache")
    ext = CountingExtractor()
    first = explain_fid(gen, ref, extractor=ext, images=2, settings=settings)
    assert ext.seen == 12 + 14 and first.label == "FID"
    ext.seen = 0
    again = explain_fid(gen, ref, extractor=ext, images=3, ridge=1e-3, seed=1, settings=settings)
    assert ext.seen == 0  # other options, same files: no feature extracted again
    assert again.label == "FD (ridge 0.001)" and len(again.items) == 3
    uncached = explain_fid(gen, ref, extractor=ext, images=2, settings=RunSettings(batch_size=4))
    assert ext.seen == 12 + 14
    # The cache holds float64 features: the value is the same as from fresh extraction, to rounding.
    assert uncached.fid == pytest.approx(first.fid, rel=1e-12)
    (gen / "00.png").unlink()  # other files: extracted again
    ext.seen = 0
    explain_fid(gen, ref, extractor=ext, images=2, settings=settings)
    assert ext.seen == 11
