"""fd_<extractor> / mmd_<extractor>: the FID and CMMD pipelines on other extractors, with real weights."""

from __future__ import annotations

import pytest
import torch

import iqa
from iqa.metrics.gen.cmmd import cmmd_from_embeddings
from iqa.stats import GaussianStats, frechet_distance


def test_efficientnet_lite0_is_a_real_imagenet_classifier() -> None:
    import skimage.data

    from iqa.features import create_extractor

    ext = create_extractor("efficientnet_lite0")
    x = torch.from_numpy(skimage.data.chelsea().copy()).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        top = ext.logits(ext(x)).softmax(1).topk(3).indices[0].tolist()
    assert set(top) & {281, 282, 285}  # tabby, tiger cat, Egyptian cat: Chelsea is a cat


def test_fd_and_mmd_compose_the_pipeline(photos) -> None:  # noqa: ANN001
    x = torch.cat([photos, photos.flip(-1)])
    y = (x * 0.7 + 0.15).clamp(0, 1)
    fd = iqa.create("fd_efficientnet_lite0")
    mmd = iqa.create("mmd_efficientnet_lite0")
    for m in (fd, mmd):
        m.update(x, real=True)
        m.update(y, real=False)
    with torch.no_grad():
        fx, fy = fd.extractor(x).double(), fd.extractor(y).double()
    a, b = GaussianStats(1280).update(fx), GaussianStats(1280).update(fy)
    with pytest.warns(UserWarning, match="strongly biased"):
        assert fd.compute().value == pytest.approx(frechet_distance(a.mean, a.cov, b.mean, b.cov).item(), rel=1e-9)
    ux, uy = fx / fx.norm(dim=1, keepdim=True), fy / fy.norm(dim=1, keepdim=True)
    assert mmd.compute().value == pytest.approx(cmmd_from_embeddings(ux, uy).item(), rel=1e-6)


def test_fd_on_clip_uses_raw_embeddings_like_clean_fid(photos) -> None:  # noqa: ANN001
    """clean-fid's CLIP_fx feeds encode_image's output, unnormalised, to the Frechet distance."""
    pytest.importorskip("open_clip")
    from iqa.features import create_extractor
    from tests.features.test_clip import tiny_clip

    ext = create_extractor("clip_vit_b32", model=tiny_clip())
    fd = iqa.create("fd_clip_vit_b32", extractor=ext)
    x, y = torch.cat([photos, photos.flip(-1)]), torch.cat([photos, photos.flip(-2)]) * 0.8
    fd.update(x, real=True)
    fd.update(y, real=False)
    with torch.no_grad():
        fx, fy = ext(x).double(), ext(y).double()
    assert (fx.norm(dim=1) - 1).abs().max() > 0.1  # really unnormalised
    a, b = GaussianStats(32).update(fx), GaussianStats(32).update(fy)
    with pytest.warns(UserWarning, match="strongly biased"):
        assert fd.compute().value == pytest.approx(frechet_distance(a.mean, a.cov, b.mean, b.cov).item(), rel=1e-9)


def test_fd_dinov2_is_fd_on_dgm_eval_dinov2_vitl14_features() -> None:
    """FD_DINOv2 (Stein et al. 2023): ViT-L/14 CLS features on dgm-eval's input path; built lazily."""
    from iqa.errors import WeightsNotFoundError

    for name in ("fd_dinov2", "mmd_dinov2"):
        m = iqa.create(name)
        assert (m.extractor.cache_key(), m.extractor.dim) == ("dinov2_vitl14:dgm_eval", 1024)
        with pytest.raises(WeightsNotFoundError, match="dinov2_vitl14_pretrain.pth"):
            m.update(torch.rand(2, 3, 32, 32), real=True)  # the weights are needed only now
    assert "Stein" in iqa.get_spec("fd_dinov2").paper and "dgm-eval" in iqa.get_spec("fd_dinov2").reference_impl
