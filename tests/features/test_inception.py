"""FID Inception: architecture and input-path parity with pytorch-fid and torch-fidelity.

The published weights are not available offline, so one randomly initialised state dict in the
official key layout (``Conv2d_1a_3x3.conv.weight``, ..., ``fc.bias``) is loaded into both sides.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from iqa.features.inception import FIDInceptionNet, FIDInceptionPytorchFID, FIDInceptionTF
from iqa.transforms.resize import resize_bilinear_tf1
from tests.helpers.random_weights import randomize


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    return randomize(FIDInceptionNet(), seed=0)


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    x = torch.rand(3, 3, 200, 240, generator=g)
    return (x * 255).round() / 255  # 8-bit levels, as images from files are


def ours(cls, state):  # noqa: ANN001, ANN201
    net = FIDInceptionNet()
    net.load_state_dict(state, strict=True)
    return cls(net.eval())


def test_state_dict_keys_are_the_published_layout(state) -> None:  # noqa: ANN001
    keys = set(state)
    assert {"Conv2d_1a_3x3.conv.weight", "Mixed_7c.branch_pool.conv.weight", "fc.weight", "fc.bias"} <= keys
    assert not any("AuxLogits" in k for k in keys)


def test_matches_pytorch_fid(state, images, monkeypatch) -> None:  # noqa: ANN001
    inception = pytest.importorskip("pytorch_fid.inception")
    monkeypatch.setattr(inception, "load_state_dict_from_url", lambda *a, **k: state)
    ref = inception.InceptionV3([3], resize_input=True, normalize_input=True, use_fid_inception=True).eval()
    with torch.no_grad():
        theirs = ref(images)[0].flatten(1)
        mine = ours(FIDInceptionPytorchFID, state)(images)
    assert theirs.abs().mean() > 1e-3  # the random network is not degenerate
    assert (mine - theirs).abs().max() < 1e-4


def test_tf_path_matches_torch_fidelity(state, images, tmp_path: Path) -> None:  # noqa: ANN001
    fe = pytest.importorskip("torch_fidelity.feature_extractor_inceptionv3")
    path = tmp_path / "w.pth"
    torch.save(state, path)
    ref = fe.FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(path)
    ).eval()
    u8 = (images * 255).round().to(torch.uint8)
    with torch.no_grad():
        pool3, logits = ref(u8)
        ext = ours(FIDInceptionTF, state)
        mine = ext(images)
        mine_logits = ext.logits(mine) - ext.net.fc.bias
    assert pool3.abs().mean() > 1e-3
    assert (mine - pool3).abs().max() < 1e-4
    assert (mine_logits - logits).abs().max() < 1e-3


def test_tf1_bilinear_matches_torch_fidelity() -> None:
    interp = pytest.importorskip("torch_fidelity.interpolate_compat_tensorflow")
    x = torch.rand(2, 3, 37, 53) * 255
    for size in [(299, 299), (20, 30), (37, 53)]:
        ref = interp.interpolate_bilinear_2d_like_tensorflow1x(x, size=size, align_corners=False)
        assert (resize_bilinear_tf1(x, size) - ref).abs().max() < 1e-3


def test_spatial_map_mean_is_pool3(state, images) -> None:  # noqa: ANN001
    ext = ours(FIDInceptionPytorchFID, state)
    with torch.no_grad():
        m = ext.spatial(images)
        assert m.shape == (3, 2048, 8, 8)
        assert torch.allclose(m.mean(dim=(2, 3)), ext(images), atol=1e-6)


def test_missing_weights_is_an_error_not_random_init() -> None:
    from iqa.errors import WeightsNotFoundError

    with pytest.raises(WeightsNotFoundError, match="pt_inception-2015-12-05"):
        FIDInceptionPytorchFID()


def test_clean_path_matches_clean_fid_resizer(images) -> None:  # noqa: ANN001
    resize = pytest.importorskip("cleanfid.resize")
    from iqa.features.inception import pil_bicubic_float

    fn = resize.build_resizer("clean")
    for img in images:
        u8 = (img * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
        ref = torch.from_numpy(fn(u8)).permute(2, 0, 1)
        assert (pil_bicubic_float(img[None])[0] - ref).abs().max() < 1e-4


def test_clean_extractor_feeds_the_same_network(state, images) -> None:  # noqa: ANN001
    from iqa.features.inception import FIDInceptionClean, pil_bicubic_float

    ext = ours(FIDInceptionClean, state)
    with torch.no_grad():
        direct = ext.net((pil_bicubic_float(images) - 128) / 128)
        assert torch.allclose(ext(images), direct, atol=1e-6)


def test_unbiased_logits_tap_is_the_fc_without_its_bias(state) -> None:  # noqa: ANN001
    # torch-fidelity's 'logits_unbiased' is pool3 @ fc.weight.T; test_tf_path_matches_torch_fidelity
    # shows it equals logits() - fc.bias on real pool3, so the tap equals torch-fidelity's.
    ext = ours(FIDInceptionTF, state)
    f = torch.rand(3, 2048, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        assert torch.allclose(ext.logits_unbiased(f), ext.logits(f) - ext.net.fc.bias, atol=1e-5)
        f64 = ext.logits_unbiased(f.double())
    assert f64.dtype == torch.float64  # computed in the features' dtype (the Inception Score's float64)
    assert torch.allclose(f64, f.double() @ state["fc.weight"].double().T, rtol=0, atol=1e-12)


def test_sfid_extractor_is_a_flat_map_without_head_or_attribution(state) -> None:  # noqa: ANN001
    from iqa.errors import InputError
    from iqa.features.inception import FIDInceptionSpatial7

    ext = ours(FIDInceptionSpatial7, state)
    assert (ext.name, ext.dim, ext.has_spatial_map, ext.class_names()) == (
        "inception_v3_fid_tf_spatial7",
        2023,
        False,
        None,
    )
    with pytest.raises(InputError, match="no classifier head"):
        ext.logits_unbiased(torch.rand(1, 2023))
    with pytest.raises(InputError, match="no spatial map"):
        ext.spatial(torch.rand(1, 3, 64, 64))
