"""HPSv2's network, input path and tokeniser against the ``hpsv2`` package (test-time reference).

The package's vendored open_clip builds the release's model (``create_model_and_transforms('ViT-H-14',
..., light_augmentation=True)``, on the meta device: shapes only, no download), its ``preprocess_val``
and ``get_tokenizer('ViT-H-14')``; see tests/helpers/hpsv2_ref.py for how it is imported offline. The
end-to-end parity on ViT-H/14 itself: tests/metrics/text/test_hpsv2.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from iqa.errors import WeightsError
from iqa.models.hpsv2 import build_hpsv2, config_from_state, letterbox, read_release, token_counts, tokenize
from tests.helpers.hpsv2_ref import import_hpsv2_open_clip, reference_model
from tests.models.test_pickscore import PROMPTS

open_clip = pytest.importorskip("open_clip")


@pytest.fixture(scope="module")
def ref():  # noqa: ANN201
    return import_hpsv2_open_clip()


@pytest.fixture(scope="module")
def preprocess_val(ref):  # noqa: ANN001, ANN201
    return reference_model(ref)[1]


def test_key_layout_is_the_releases(ref) -> None:  # noqa: ANN001
    """The release's model has open_clip ViT-H-14's keys and shapes; the config read off them is ViT-H-14's."""
    model, _ = reference_model(ref)
    want = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    with torch.device("meta"):
        ours = open_clip.CLIP(**config_from_state(model.state_dict()), quick_gelu=False)
        vit_h = open_clip.create_model("ViT-H-14", pretrained=None, device="meta")
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == want
    assert {k: tuple(v.shape) for k, v in vit_h.state_dict().items()} == want
    assert len(want) == 686 and sum(torch.Size(s).numel() for s in want.values()) == 986_109_441
    cfg = config_from_state(model.state_dict())
    assert cfg["vision_cfg"]["width"] // cfg["vision_cfg"]["head_width"] == 16 and cfg["text_cfg"]["heads"] == 16


def test_tokenisation_equals_the_releases(ref) -> None:  # noqa: ANN001
    """``get_tokenizer('ViT-H-14')`` (the vendored SimpleTokenizer: ftfy + html.unescape, OpenAI's truncation)."""
    want = ref.get_tokenizer("ViT-H-14")(PROMPTS)
    assert torch.equal(tokenize(PROMPTS), want)
    tok = ref.tokenizer._tokenizer
    assert token_counts(PROMPTS) == [len(tok.encode(p)) + 2 for p in PROMPTS]


@pytest.mark.parametrize("size", [(100, 300), (300, 100), (161, 97), (224, 150), (640, 480), (50, 50), (225, 224)])
def test_letterbox_equals_preprocess_val(preprocess_val, size: tuple[int, int]) -> None:  # noqa: ANN001
    """The release's ``preprocess_val`` (ToTensor, ResizeMaxSize(224, fill=0), normalise) on PIL images of several
    shapes: portrait, landscape, odd sizes, upscaling, and a longest side of 224 (neither resized nor padded)."""
    h, w = size
    a = np.random.default_rng(h * w).integers(0, 256, (h, w, 3), dtype=np.uint8)
    want = preprocess_val(Image.fromarray(a))
    got = letterbox(torch.from_numpy(a).permute(2, 0, 1)[None].float() / 255)[0]
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)  # the same torchvision ops on the same floats


def test_release_file_reads_and_wrong_layout_is_refused(tmp_path: Path) -> None:
    vision = {"image_size": 64, "layers": 1, "width": 80, "head_width": 80, "patch_size": 32}
    text = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 1}
    torch.manual_seed(0)
    model = open_clip.CLIP(embed_dim=16, vision_cfg=vision, text_cfg=text)
    state = {k: v.half() for k, v in model.state_dict().items()}  # a float16 file reads into float32
    torch.save({"state_dict": state}, tmp_path / "HPS_v2_compressed.pt")
    built = build_hpsv2(read_release(tmp_path / "HPS_v2_compressed.pt"))
    assert next(built.parameters()).dtype == torch.float32 and not built.attn_mask.is_meta
    ids = tokenize(["a photo of a cat"])
    with torch.no_grad():
        torch.testing.assert_close(built.encode_text(ids), model.half().float().encode_text(ids), rtol=1e-5, atol=1e-5)
    del state["ln_final.bias"]
    with pytest.raises(WeightsError, match="ln_final.bias"):
        build_hpsv2(state)
    with pytest.raises(WeightsError, match="no 'visual.conv1.weight'"):
        build_hpsv2({"transformer.resblocks.0.ln_1.weight": torch.ones(4)})
