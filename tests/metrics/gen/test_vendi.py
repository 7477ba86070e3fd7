"""vendi_<x>: the Vendi score of the generated set against the vendi-score package; one-sided."""

from __future__ import annotations

import math

import pytest
import torch

import iqa
from tests.helpers.fake_extractor import TinyExtractor


def test_matches_vendi_score_on_the_generated_features(photos) -> None:  # noqa: ANN001
    """embedding_vendi_score on the same (TinyExtractor) features: score_X for n < dim, 1e-9 relative
    (features float32 from the extractor, the rest float64 on both sides)."""
    vendi = pytest.importorskip("vendi_score.vendi")
    x = torch.cat([photos, photos.flip(-1), photos.flip(-2)])  # 12 images, 16-d features: n < dim
    m = iqa.create("vendi_efficientnet_lite0", extractor=TinyExtractor())
    m.update(x, real=False)
    m.update(x[:2], real=True)  # ignored
    out = m.compute()
    with torch.no_grad():
        f = m.extractor(x).double().numpy()
    assert out.value == pytest.approx(vendi.score_X(f), rel=1e-9)
    assert (out.n_real, out.n_fake) == (None, 12) and out.extras == {"q": 1.0}


def test_q_option_and_large_sets() -> None:
    """n >= dim takes the dual (dim x dim) Gram: score_dual honours q; q = inf as the package's 'inf'."""
    vendi = pytest.importorskip("vendi_score.vendi")
    f = torch.rand(500, 16, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    for q, q_ref in ((1.0, 1), (2.0, 2), (math.inf, "inf")):
        m = iqa.create("vendi_inception", extractor=TinyExtractor(), q=q)
        m.update_features(f[:200], real=False)
        m.update_features(f[200:], real=False)
        assert m.compute().value == pytest.approx(vendi.score_dual(f.numpy(), q=q_ref), rel=1e-9)
