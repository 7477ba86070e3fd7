"""brisque_opencv: against cv2.quality.QualityBRISQUE itself (opencv-contrib), same model files.

OpenCV runs the whole pipeline in float32; MSCN values of exactly flat areas and the AGGD grid
walk's near-ties are where two float32 implementations part. Measured on the 5 TID refs and 14
Set14 images: median |difference| about 1e-3, at most 0.6 (of 0-100) where a near-tie flips one
0.001 step of an alpha; the bounds below are those measurements with a margin.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.augment import distort
from iqa.metrics.nr.brisque_opencv import _cubic_matrix, opencv_gray_u8, resize_cubic
from tests.conftest import shared_path
from tests.helpers.golden import load_golden


def _cv2_quality():  # noqa: ANN202
    """cv2 with the contrib modules; pip may have let a plain OpenCV wheel overwrite it (same module)."""
    cv2 = pytest.importorskip("cv2")
    if not hasattr(cv2, "quality"):
        pytest.skip(
            "cv2 lacks the contrib 'quality' module (another OpenCV wheel replaced opencv-contrib); the golden test still runs"
        )
    return cv2


def _load(rel: str) -> torch.Tensor:
    a = np.array(Image.open(shared_path("data", "images", rel)).convert("RGB"))
    return torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255


@pytest.fixture(scope="module")
def metric() -> iqa.metrics.base.NRMetric:  # type: ignore[name-defined]
    folder = shared_path("weights", "brisque")
    return iqa.create(
        "brisque_opencv", model=folder / "brisque_model_live.yml", ranges=folder / "brisque_range_live.yml"
    )


def test_scores_match_recorded_opencv_values(metric) -> None:  # noqa: ANN001
    gold = load_golden("brisque_opencv")
    diffs = [abs(metric(_load(rel)).item() - want) for rel, want in gold["values"].items()]
    assert len(diffs) == 19
    assert np.median(diffs) < 5e-3 and max(diffs) < gold["atol"], diffs


def test_building_blocks_equal_opencv() -> None:
    cv2 = pytest.importorskip("cv2")
    rel = "TID-refs/I03.bmp"
    bgr = cv2.imread(str(shared_path("data", "images", rel)))
    x = _load(rel)
    want = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY).astype(np.float32) / 255
    assert np.array_equal(opencv_gray_u8(x, 1.0)[0, 0].numpy(), want)
    g = torch.rand(37, 51, generator=torch.Generator().manual_seed(0))
    for h, w in ((18, 25), (37 // 2, 51 // 2)):
        assert (
            np.abs(resize_cubic(g, h, w).numpy() - cv2.resize(g.numpy(), (w, h), interpolation=cv2.INTER_CUBIC)).max()
            < 2e-6
        )
    assert torch.allclose(_cubic_matrix(40, 20).sum(1), torch.ones(20))


def test_scores_track_live_opencv(metric) -> None:  # noqa: ANN001
    cv2 = _cv2_quality()
    folder = shared_path("weights", "brisque")
    diffs = []
    for rel in load_golden("brisque_opencv")["values"]:
        bgr = cv2.imread(str(shared_path("data", "images", rel)))
        x = _load(rel)
        theirs = cv2.quality.QualityBRISQUE_compute(
            bgr, str(folder / "brisque_model_live.yml"), str(folder / "brisque_range_live.yml")
        )[0]
        diffs.append(abs(metric(x).item() - theirs))
    assert np.median(diffs) < 5e-3 and max(diffs) < 1.0, diffs


def test_model_files_parse_and_properties(metric, photos) -> None:  # noqa: ANN001
    assert metric.svr.sv.shape == (774, 36) and metric.svr.gamma == 0.05
    assert metric.range.fmin.shape == (36,) and (metric.range.fmax > metric.range.fmin).all()
    x = photos.double()
    noisy = torch.stack([metric(distort(x, "white_noise", level=k, seed=0)) for k in (1, 5)])
    assert (noisy[1] > noisy[0]).all()
    assert ((metric(x) >= 0) & (metric(x) <= 100)).all()
