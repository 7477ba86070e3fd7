"""The cheaper CLIP forwards (iqa.features.clip_forward) equal open_clip's own, and fall back where they must."""

from __future__ import annotations

import pytest
import torch

from iqa.features.clip_forward import image_embedding, is_plain_vit, text_embedding

open_clip = pytest.importorskip("open_clip")


def _clip(vision_layers: int | tuple[int, ...] = 3, quick_gelu: bool = True) -> torch.nn.Module:
    """A small seeded CLIP in OpenAI's architecture (the forwards do not depend on width or depth)."""
    torch.manual_seed(0)
    vision = {"image_size": 64, "layers": vision_layers, "width": 64, "patch_size": 16, "head_width": 32}
    text = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2}
    return open_clip.model.CLIP(32, vision_cfg=vision, text_cfg=text, quick_gelu=quick_gelu).eval()


def test_image_embedding_equals_open_clip_for_a_plain_vit():
    model = _clip()
    assert is_plain_vit(model.visual)
    x = torch.randn(3, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(image_embedding(model.visual, x), model.encode_image(x), rtol=1e-5, atol=1e-5)


def test_image_embedding_falls_back_for_a_resnet_tower():
    model = _clip(vision_layers=(1, 1, 1, 1))
    assert not is_plain_vit(model.visual)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(image_embedding(model.visual, x), model.encode_image(x))


def test_text_embedding_equals_open_clip_on_prompts_of_mixed_length():
    model = _clip()
    tok = open_clip.get_tokenizer("ViT-B-32")
    prompts = ["", "a photo", "a long prompt " * 30, "une photo d'un chat \u00e9t\u00e9 \U0001f431"]
    tokens = tok(prompts)
    assert int(tokens.argmax(-1).max()) == 76  # the long prompt fills the context: no cut for this batch
    with torch.no_grad():
        torch.testing.assert_close(text_embedding(model, tokens), model.encode_text(tokens), rtol=1e-5, atol=1e-5)
        short = tok(prompts[:2])  # cut at 3 positions of 77
        torch.testing.assert_close(text_embedding(model, short), model.encode_text(short), rtol=1e-5, atol=1e-5)
