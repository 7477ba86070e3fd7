"""CONTRIQUE network (issue 8 groundwork): the release's key layout, the two-scale feature path
(PIL bicubic to (W // 2, H // 2), no normalisation, L2-normalised halves), the patch order."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from iqa.models.contrique import ContriqueModel, half_scale, to_uint8_images, two_scale_features


def _model() -> ContriqueModel:
    torch.manual_seed(0)
    return ContriqueModel().eval()


def test_release_key_layout() -> None:
    shapes = {k: tuple(v.shape) for k, v in _model().state_dict().items()}
    expected = {"encoder.0.weight": (64, 3, 7, 7), "encoder.1.running_mean": (64,), "encoder.4.0.conv1.weight": (64, 64, 1, 1),
                "encoder.7.2.conv3.weight": (2048, 512, 1, 1), "projector.0.weight": (2048, 2048), "projector.1.running_var": (2048,),
                "projector.3.weight": (128, 2048), "projector.4.weight": (128,)}  # fmt: skip
    for k, v in expected.items():
        assert shapes.get(k) == v, k
    assert not [k for k in shapes if k.startswith("encoder.8") or "fc." in k]  # avgpool and fc dropped


def test_half_scale_is_pil_bicubic_with_floor_division() -> None:
    a = (np.random.default_rng(0).random((51, 77, 3)) * 255).astype(np.uint8)
    h = half_scale(a)
    assert h.shape == (25, 38, 3)
    assert np.array_equal(h, np.asarray(Image.fromarray(a).resize((38, 25), Image.BICUBIC)))
    assert half_scale(a, (40, 30)).shape == (30, 40, 3)  # FR: the reference's half size


@torch.no_grad()
def test_two_scale_features() -> None:
    m = _model()
    x = torch.rand(2, 3, 67, 90, generator=torch.Generator().manual_seed(1))
    f = two_scale_features(m, x)
    assert f.shape == (2, 4096)
    torch.testing.assert_close(f[:, :2048].norm(dim=1), torch.ones(2))
    torch.testing.assert_close(f[:, 2048:].norm(dim=1), torch.ones(2))
    # by hand for image 1: 8-bit values / 255, no mean/std; the half copy from PIL
    a = to_uint8_images(x)[1]
    full = torch.from_numpy(a.copy()).permute(2, 0, 1)[None].float() / 255
    g = m.encoder(full).mean((2, 3))
    torch.testing.assert_close(f[1, :2048], (g / g.norm())[0])
    half = (
        torch.from_numpy(np.asarray(Image.fromarray(a).resize((45, 33), Image.BICUBIC)).copy())
        .permute(2, 0, 1)[None]
        .float()
        / 255
    )
    gh = m.encoder(half).mean((2, 3))
    torch.testing.assert_close(f[1, 2048:], (gh / gh.norm())[0])


@torch.no_grad()
def test_patch_embeddings_are_image_major() -> None:
    m = _model()
    x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(2))
    h, patches = m.embed(x)
    assert h.shape == (2, 2048) and patches.shape == (8, 2048)
    fmap = m.encoder(x[1:2])
    top_left = fmap[..., :1, :1].mean((2, 3))  # 2x2 map: patch (0, 0) of image 1 is row 4
    torch.testing.assert_close(patches[4], (top_left / top_left.norm())[0])
    z = m(x, x)
    assert [tuple(t.shape) for t in z] == [
        (2, 128),
        (2, 128),
        (8, 128),
        (8, 128),
        (2, 2048),
        (2, 2048),
        (8, 2048),
        (8, 2048),
    ]
