"""CLIP towers: OpenAI-archive loading, both input paths against their references, the manifest."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.errors import InputError, WeightsHashError, WeightsNotFoundError
from iqa.features import create_extractor
from iqa.features.clip import (
    OPENAI_TOWERS,
    CLIPImage,
    clip_from_openai_archive,
    clip_preprocess,
    load_openai_clip,
)
from iqa.weights import get_weight_spec
from tests.helpers.torchscript_archive import save_state_as_torchscript

open_clip = pytest.importorskip("open_clip")


def tiny_clip(seed: int = 0) -> torch.nn.Module:
    """A small random CLIP as OpenAI ships them: QuickGELU, float16-representable weights, 1-head ViT."""
    torch.manual_seed(seed)
    vision = {"layers": 2, "width": 64, "patch_size": 16, "image_size": 64}
    text = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1}
    model = open_clip.CLIP(embed_dim=32, vision_cfg=vision, text_cfg=text, quick_gelu=True).eval()
    return model.half().float()  # OpenAI's archives hold float16 tensors


def as_u8(x: torch.Tensor) -> np.ndarray:
    return (x * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


@pytest.mark.parametrize("crop", [(slice(0, 300), slice(0, 480)), (slice(0, 400), slice(100, 333))])
def test_openai_path_equals_open_clip_transform(photo, crop) -> None:  # noqa: ANN001
    img = photo[0, :, crop[0], crop[1]]  # landscape and portrait
    ref = open_clip.image_transform(224, is_train=False)(Image.fromarray(as_u8(img)))
    ours = clip_preprocess(img[None], 224, "openai")[0]
    assert torch.abs(ours - ref).max().item() < 1e-6


def test_cmmd_and_openai_paths_differ_on_non_square_images(photo) -> None:  # noqa: ANN001
    img = photo[:, :, :300, :480]
    assert (clip_preprocess(img, 224, "cmmd") - clip_preprocess(img, 224, "openai")).abs().max() > 0.1
    with pytest.raises(InputError, match="preprocess must be one of"):
        clip_preprocess(img, 224, "bilinear")


def test_openai_archive_round_trip(tmp_path: Path, photo) -> None:  # noqa: ANN001
    model = tiny_clip()
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    archive = save_state_as_torchscript(state, tmp_path / "tiny.pt")
    loaded = clip_from_openai_archive(archive)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(loaded.encode_image(x), model.encode_image(x))
    ext = CLIPImage(loaded, preprocess="openai")
    img = photo[:, :, :200, :260]
    with torch.no_grad():
        manual = model.encode_image(clip_preprocess(img, 64, "openai"))
        assert ext.dim == 32 and ext.size == 64 and ext.name == "clip_custom"
        assert torch.allclose(ext(img), manual, atol=1e-6)


def test_archive_is_read_only_after_its_hash_matches(tmp_path: Path) -> None:
    archive = save_state_as_torchscript(tiny_clip().state_dict(), tmp_path / "ViT-B-32.pt")
    with pytest.raises(WeightsHashError, match="sha256"):
        load_openai_clip("ViT-B-32", weights=archive)
    with pytest.raises(InputError, match="OpenAI towers: RN50"):
        load_openai_clip("ViT-H-14")


@pytest.mark.parametrize("tower", sorted(OPENAI_TOWERS))
def test_every_tower_is_pinned_by_the_hash_in_openais_url(tower: str) -> None:
    spec = get_weight_spec(OPENAI_TOWERS[tower])
    assert len(spec.sha256) == 64 and all(spec.sha256 in u for u in spec.urls)
    assert spec.urls[0].endswith("/" + Path(spec.filename).name)


@pytest.mark.parametrize(("name", "file"), [("clip_vit_b32", "ViT-B-32.pt"), ("clip_vit_l14", "ViT-L-14.pt")])
def test_named_towers_need_their_weights(name: str, file: str) -> None:
    with pytest.raises(WeightsNotFoundError, match=file):
        create_extractor(name)


def test_cmmd_takes_another_tower_by_name() -> None:
    with pytest.raises(WeightsNotFoundError, match="ViT-B-16.pt"):
        iqa.create("cmmd", clip_model="ViT-B-16")
    with pytest.raises(InputError, match="not both"):
        iqa.create("cmmd", clip_model="ViT-B-16", extractor="efficientnet_lite0")


@pytest.mark.parametrize(
    ("factory", "kwargs", "expected"),
    [
        ("clip_vit_b32", {}, "clip_vit_b32"),
        ("clip_vit_l14_336_cmmd", {}, "clip_vit_l14_336_cmmd"),
        ("clip", {"model_name": "RN50x4"}, "clip_rn50x4"),
        ("clip", {"model_name": "ViT-B-16", "preprocess": "cmmd"}, "clip_vit_b16_cmmd"),
        ("clip", {}, "clip_custom"),
    ],
)
def test_extractor_names_carry_tower_and_path(factory: str, kwargs: dict, expected: str) -> None:
    ext = create_extractor(factory, model=tiny_clip(), **kwargs)
    assert ext.name == expected and ext.cache_key() == expected + ":raw"
    assert factory == "clip" or factory == expected  # the registered name is the instance's name


def test_a_tower_must_be_named() -> None:
    with pytest.raises(InputError, match="model_name= one of"):
        create_extractor("clip")
