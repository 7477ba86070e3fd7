"""cmmd: the reference formula, its identities, the reference preprocessing, the CLIP tower."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.features.clip import CLIP_MEAN, CLIP_STD, CLIPCMMD, cmmd_preprocess
from iqa.metrics.gen.cmmd import cmmd_from_embeddings
from tests.helpers.fake_extractor import TinyExtractor


def unit(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g, dtype=torch.float64) + shift
    return x / x.norm(dim=1, keepdim=True)


def direct(x: np.ndarray, y: np.ndarray) -> float:
    """google-research cmmd/distance.py::mmd written out with full matrices (sigma 10, x1000)."""
    gamma = 1 / (2 * 10**2)
    k = lambda a, b: np.exp(-gamma * ((a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2 * a @ b.T))  # noqa: E731
    return 1000 * (k(x, x).mean() + k(y, y).mean() - 2 * k(x, y).mean())


def test_equals_the_reference_formula() -> None:
    x, y = unit(300, 64, 0), unit(250, 64, 1, 0.1)
    assert cmmd_from_embeddings(x, y).item() == pytest.approx(direct(x.numpy(), y.numpy()), rel=1e-6)


def test_identities() -> None:
    x, y = unit(200, 32, 2), unit(180, 32, 3, 0.3)
    assert cmmd_from_embeddings(x, x).item() == pytest.approx(0.0, abs=1e-12)
    assert cmmd_from_embeddings(x, y).item() == pytest.approx(cmmd_from_embeddings(y, x).item(), rel=1e-12)
    # unit norm: k ~ 1 - d^2/200, so CMMD ~ 10 |mu_x - mu_y|^2 (within ~2 %)
    approx = 10 * (x.mean(0) - y.mean(0)).square().sum().item()
    assert cmmd_from_embeddings(x, y).item() == pytest.approx(approx, rel=0.02)


def test_reference_example_value() -> None:
    # cmmd-pytorch's README example (three copies of one image vs three of another) prints 7.696;
    # with identical copies CMMD = 1000 (2 - 2 exp(-d^2/200)), i.e. cos(e_ref, e_gen) = 0.6145.
    cos = 0.6145
    a = torch.tensor([[1.0, 0.0]], dtype=torch.float64).repeat(3, 1)
    b = torch.tensor([[cos, math.sqrt(1 - cos**2)]], dtype=torch.float64).repeat(3, 1)
    # cos is known to 4 digits (+-5e-5) and dCMMD/dcos ~ 20, hence the 1.1e-3 tolerance
    assert cmmd_from_embeddings(a, b).item() == pytest.approx(7.696, abs=1.1e-3)
    assert cmmd_from_embeddings(a, b, estimator="unbiased").item() == pytest.approx(7.696, abs=1.1e-3)


def direct_unbiased(x: np.ndarray, y: np.ndarray, sigma: float = 10.0, scale: float = 1000.0) -> float:
    """scale x the unbiased MMD^2 from its definition (Gretton et al., JMLR 2012, eq. 3), pair by pair:
    mean_{i != j} k(x_i, x_j) + mean_{i != j} k(y_i, y_j) - 2 mean_{i, j} k(x_i, y_j), with CMMD's
    kernel k(a, b) = exp(-|a - b|^2 / (2 sigma^2)), sigma 10, and its x1000 (google-research
    cmmd/distance.py: _SIGMA = 10, _SCALE = 1000). |a - b|^2 is summed directly, not expanded."""
    k = lambda a, b: math.exp(-float(((a - b) ** 2).sum()) / (2 * sigma**2))  # noqa: E731
    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return scale * (kxx + kyy - 2 * kxy)


@pytest.mark.parametrize(
    ("n", "m", "spread"),
    [(7, 9, None), (30, 20, None), (12, 12, 3.0), (2, 3, 3.0)],  # None: unit-norm (CMMD's inputs)
)
def test_unbiased_equals_the_definition(n: int, m: int, spread: float | None) -> None:
    g = torch.Generator().manual_seed(n * 100 + m)
    if spread is None:
        x, y = unit(n, 24, n), unit(m, 24, m + 50, 0.3)
    else:  # |a - b|^2 / 200 ~ 1.4: kernel values spread over (0, 1), not all near 1 as on the sphere
        x = spread * torch.randn(n, 16, generator=g, dtype=torch.float64)
        y = spread * torch.randn(m, 16, generator=g, dtype=torch.float64) + 1.0
    ours = cmmd_from_embeddings(x, y, estimator="unbiased").item()
    # float64; the library expands |a|^2 + |b|^2 - 2 a.b (unclamped, as the reference): rounding 1e-9 relative
    assert ours == pytest.approx(direct_unbiased(x.numpy(), y.numpy()), rel=1e-9, abs=1e-9)


def test_unbiased_metric_path_equals_the_definition(photos) -> None:  # noqa: ANN001
    m = iqa.create("cmmd", extractor=TinyExtractor(), estimator="unbiased")
    m.update(photos, real=True)
    m.update(photos.flip(-1)[:3], real=False)
    ext = TinyExtractor()
    unit_rows = lambda t: (t / t.norm(dim=1, keepdim=True)).double().numpy()  # noqa: E731
    with torch.no_grad():  # the metric L2-normalises the features before the MMD
        real, fake = unit_rows(ext(photos)), unit_rows(ext(photos.flip(-1)[:3]))
    # features in float32, then float64: the same numbers on both sides, rounding only
    assert m.compute().value == pytest.approx(direct_unbiased(real, fake), rel=1e-6, abs=1e-9)


def test_unbiased_differs_by_the_diagonal_terms() -> None:
    x, y = unit(5, 16, 4), unit(6, 16, 5)
    assert cmmd_from_embeddings(x, y, estimator="unbiased").item() < cmmd_from_embeddings(x, y).item()


def test_preprocessing_is_the_reference_pixel_path(tmp_path: Path, photo) -> None:  # noqa: ANN001
    img = photo[:, :, 50:350, 20:500]  # 300 x 480: a non-square crop is needed
    u8 = (img[0] * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    pil = Image.fromarray(u8)
    w, h = pil.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    ref = np.asarray(pil.crop((left, top, left + side, top + side)).resize((336, 336), Image.BICUBIC)) / 255.0
    ref = (ref - np.array(CLIP_MEAN)) / np.array(CLIP_STD)
    ours = cmmd_preprocess(img)[0].permute(1, 2, 0).double().numpy()
    assert np.abs(ours - ref).max() < 1e-6


def test_clip_tower_embeddings_with_random_weights(photo) -> None:  # noqa: ANN001
    open_clip = pytest.importorskip("open_clip")
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None).eval()  # small random tower, same code path
    ext = CLIPCMMD(model)
    x = torch.cat([photo[:, :, :300, :400], photo[:, :, 100:400, 50:450]])
    with torch.no_grad():
        e = ext(x)
        manual = model.encode_image(cmmd_preprocess(x, size=224))  # ViT-B-32 takes 224
    assert e.shape == (2, ext.dim) and ext.name == "clip_vit_l14_336_cmmd"
    # raw tower output (cmmd normalises, below); the extractor's class-token-only last block and SDPA
    # attention (iqa.features.clip_forward) round differently from encode_image: ~1e-6 on values ~1
    torch.testing.assert_close(e, manual, rtol=1e-5, atol=1e-5)
    m = iqa.create("cmmd", extractor=ext)
    m.update(x, real=True)
    m.update(x.flip(-1), real=False)
    with torch.no_grad():
        flipped = model.encode_image(cmmd_preprocess(x.flip(-1), size=224))
    unit = lambda t: (t / t.norm(dim=-1, keepdim=True)).double()  # noqa: E731
    assert m.compute().value == pytest.approx(cmmd_from_embeddings(unit(manual), unit(flipped)).item(), rel=1e-6)


def test_metric_drop_last_partial_batch(photos) -> None:  # noqa: ANN001
    m = iqa.create("cmmd", extractor=TinyExtractor(), reference_batch_size=3)
    m.update(photos, real=True)  # 4 images: the reference would use 3
    m.update(photos.flip(-1), real=False)
    full = iqa.create("cmmd", extractor=TinyExtractor())
    full.update(photos[:3], real=True)
    full.update(photos.flip(-1)[:3], real=False)
    assert m.compute().value == pytest.approx(full.compute().value, rel=1e-12)


def test_missing_clip_weights_is_a_clear_error() -> None:
    from iqa.errors import WeightsNotFoundError

    m = iqa.create("cmmd")  # the extractor is built on first use: embeddings alone need no weights
    with pytest.raises(WeightsNotFoundError, match="ViT-L-14-336px.pt"):
        m.update(torch.rand(2, 3, 32, 32), real=True)
