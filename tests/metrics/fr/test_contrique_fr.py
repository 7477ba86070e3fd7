"""contrique_fr: |features(ref) - features(img)| with both half copies at the reference's half size
(demo_score_FR.py), the released FR heads' direction, and conversion of LIVE_FR.save."""

from __future__ import annotations

import pickle

import numpy as np
import torch
from PIL import Image
from sklearn.linear_model import Ridge

import iqa
from iqa.models.contrique import fr_features, to_uint8_images
from iqa.models.contrique_convert import convert_regressor
from tests.helpers.quality_heads import random_encoder


def _feat(model, a: np.ndarray, size: tuple[int, int]) -> torch.Tensor:  # noqa: ANN001
    full = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255
    half = (
        torch.from_numpy(np.asarray(Image.fromarray(a).resize(size, Image.BICUBIC)).copy())
        .permute(2, 0, 1)[None]
        .float()
        / 255
    )
    g = [torch.nn.functional.normalize(model.encoder(t).mean((2, 3)), dim=1) for t in (full, half)]
    return torch.cat(g, 1)


@torch.no_grad()
def test_fr_features_by_hand() -> None:
    m = random_encoder()
    g = torch.Generator().manual_seed(0)
    ref, img = torch.rand(1, 3, 67, 91, generator=g), torch.rand(1, 3, 67, 91, generator=g)
    f = fr_features(m, img, ref)
    a, r = to_uint8_images(img)[0], to_uint8_images(ref)[0]
    by_hand = (_feat(m, r, (45, 33)) - _feat(m, a, (45, 33))).abs()
    torch.testing.assert_close(f, by_hand)
    assert f.shape == (1, 1024) and (f >= 0).all()
    assert torch.count_nonzero(fr_features(m, ref, ref)) == 0


def test_released_fr_head_scores_dmos(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    m = random_encoder()
    rng = np.random.default_rng(0)
    reg = Ridge(alpha=0.1).fit(rng.normal(size=(20, 1024)), rng.uniform(0, 80, 20))
    (tmp_path / "LIVE_FR.save").write_bytes(pickle.dumps(reg))
    convert_regressor(tmp_path / "LIVE_FR.save", "live_fr", tmp_path / "w" / "converted", higher_is_better=False)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path / "w"))
    metric = iqa.create("contrique_fr", model=m, head="live_fr")
    assert not metric.spec.higher_is_better
    g = torch.Generator().manual_seed(1)
    ref = torch.rand(2, 3, 70, 70, generator=g)
    img = (ref + 0.1 * torch.rand(2, 3, 70, 70, generator=g)).clamp(0, 1)
    expected = reg.predict(fr_features(m, img, ref).double().numpy())
    np.testing.assert_allclose(
        metric(img.double(), ref.double()).numpy(), expected, rtol=0, atol=1e-8
    )  # float64 in: no float32 rounding of the score
