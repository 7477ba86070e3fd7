"""CLIPScore: tokenisation, Hessel's release, pyiqa and torchmetrics on the same random ViT weights.

References: jmhessel/clipscore ``clipscore.py`` (transcribed below as ``hessel_*``: its caption and
image datasets, ``get_clip_score`` and ``get_refonlyclipscore`` + the harmonic mean of ``main``),
run on openai/CLIP's own model class and tokenizer; pyiqa 0.1.16 ``CLIPScore`` (its ``clip.load``
pointed at the same model); torchmetrics 1.9 ``CLIPScore``. Weights: a seeded random ViT-B/32 (the
released architecture) in OpenAI's float16 layout. Images: two files of ../shared (one square-ish,
one 512x384), read by each side as it reads files.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.errors import InputError
from iqa.io import read_image
from iqa.metrics.base import PromptTruncatedWarning
from iqa.metrics.text.clipscore import PREFIX, preprocess, token_counts, tokenize
from tests.conftest import shared_path
from tests.helpers.openai_clip import import_openai_clip

open_clip = pytest.importorskip("open_clip")

PROMPTS = [
    "a dog on the grass",
    "",  # empty
    "Ünïcödé café — naïve 東京の夜 🐶 &amp; friends",  # unicode, an HTML entity (ftfy + unescape)
    "  several   spaces\tand\na newline  ",
    "word " * 100,  # 102 tokens: truncated
    "x" * 400,  # one long word: many BPE tokens
    "a " * 74 + "b",  # 75 words + start/end = 77 tokens: exactly the context, not truncated
    "a " * 75 + "b",  # 78 tokens: truncated by one
]


@pytest.fixture(scope="module")
def clip_ref():  # noqa: ANN201
    return import_openai_clip()


@pytest.fixture(scope="module")
def vit_b32_state() -> dict[str, torch.Tensor]:
    """Seeded random ViT-B/32 in OpenAI's layout, float16 as the archives (QuickGELU, 224 px, 77 tokens)."""
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32-quickgelu", pretrained=None)
    return {k: v.half() for k, v in model.state_dict().items()}


@pytest.fixture(scope="module")
def ours(vit_b32_state):  # noqa: ANN001, ANN201
    # what iqa.features.clip.clip_from_openai_archive does with a verified archive's tensors
    return open_clip.model.build_model_from_openai_state_dict(dict(vit_b32_state)).float().eval()


@pytest.fixture(scope="module")
def reference(vit_b32_state, clip_ref):  # noqa: ANN001, ANN201
    # clip.load(..., device="cpu", jit=False): build_model, then float() on the CPU
    return clip_ref.model.build_model(dict(vit_b32_state)).float().eval()


@pytest.fixture(scope="module")
def files() -> list:
    return [shared_path("data", "images", "Set5", "woman_GT.bmp"), shared_path("data", "images", "TID-refs", "I03.bmp")]


# Every file with every caption: random towers then give positive and negative cosines (checked).
CAPTIONS = ["a woman wearing a hat", "two parrots on a branch", "word " * 100]


def test_tokenisation_equals_openai_clip(clip_ref) -> None:  # noqa: ANN001
    want = clip_ref.tokenize(PROMPTS, truncate=True)
    assert torch.equal(tokenize(PROMPTS, prefix=""), want)
    assert torch.equal(tokenize(PROMPTS), clip_ref.tokenize([f"{PREFIX} {p}" for p in PROMPTS], truncate=True))
    # the truncation flag is exactly "openai's tokenize without truncate=True refuses it"
    for p, n in zip(PROMPTS, token_counts(PROMPTS, prefix="")):
        try:
            clip_ref.tokenize([p])
            refused = False
        except RuntimeError:
            refused = True
        assert (n > 77) == refused, (p[:20], n)
    assert token_counts(["a " * 74 + "b", "a " * 75 + "b"], prefix="") == [77, 78]


def hessel_images(paths: list, model) -> np.ndarray:  # noqa: ANN001
    """clipscore.py CLIPImageDataset + extract_all_images (float32 on the CPU)."""
    from torchvision.transforms import CenterCrop, Compose, Normalize, Resize, ToTensor

    tf = Compose([Resize(224, interpolation=Image.BICUBIC), CenterCrop(224), lambda im: im.convert("RGB"), ToTensor(),
                  Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711))])  # fmt: skip
    with torch.no_grad():
        return model.encode_image(torch.stack([tf(Image.open(p)) for p in paths])).numpy()


def hessel_captions(captions: list[str], model, clip_ref) -> np.ndarray:  # noqa: ANN001
    """clipscore.py CLIPCapDataset (prefix 'A photo depicts ') + extract_all_captions."""
    with torch.no_grad():
        return model.encode_text(
            torch.cat([clip_ref.tokenize(PREFIX + " " + c, truncate=True) for c in captions])
        ).numpy()


def _unit(a: np.ndarray) -> np.ndarray:
    return a / np.sqrt(np.sum(a**2, axis=1, keepdims=True))  # clipscore.py, numpy >= 1.21 branch


def test_clipscore_equals_hessel_release(ours, reference, clip_ref, files) -> None:  # noqa: ANN001
    img, cap = _unit(hessel_images(files, reference)), _unit(hessel_captions(CAPTIONS, reference, clip_ref))
    want = 2.5 * np.clip(img @ cap.T, 0, None).reshape(-1)  # get_clip_score on every (file, caption) pair
    paths, captions = [str(f) for f in files for _ in CAPTIONS], CAPTIONS * len(files)
    with pytest.warns(PromptTruncatedWarning, match="1 of 1 prompts"):
        got = iqa.score("clipscore", paths, text=captions, model=ours)  # files, as a user passes them
    assert 0 < (want > 0).sum() < len(want), want  # both sides of the floor at 0 are exercised
    # 1e-5 absolute: the same float32 operations in another order (scores of order 0.1-1)
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-5, rtol=0)


def test_refclipscore_equals_hessel_release(ours, reference, clip_ref, files) -> None:  # noqa: ANN001
    captions = ["a woman wearing a hat", "a city at night"]
    refs = [["a woman with a hat", "a portrait", "someone"], ["parrots"]]
    img = _unit(hessel_images(files, reference))
    cap = _unit(hessel_captions(captions, reference, clip_ref))
    per = 2.5 * np.clip(np.sum(img * cap, axis=1), 0, None)
    best = np.array([np.max(c @ _unit(hessel_captions(r, reference, clip_ref)).T) for c, r in zip(cap, refs)])
    assert (best > 0).all()  # where the paper's max(., 0) and the code agree
    want = 2 * per * best / (per + best)  # clipscore.py main: the F-score
    got = iqa.score("clipscore", [str(p) for p in files], text=captions, refs=refs, model=ours)
    np.testing.assert_allclose(got.detach().numpy(), want, atol=1e-5, rtol=0)


def test_clipscore_resize_tensor_equals_pyiqa(ours, reference, clip_ref, files, monkeypatch) -> None:  # noqa: ANN001
    pytest.importorskip("pyiqa")
    import pyiqa.archs.clipscore_arch as arch

    monkeypatch.setattr(arch.clip, "load", lambda *a, **k: (reference, None))  # pyiqa downloads otherwise
    theirs = arch.CLIPScore(backbone="ViT-B/32")
    for p in files[1:]:  # one file (512x384: resized and cropped); pyiqa takes one batch of one size
        x = read_image(p)[None]
        with torch.no_grad():
            want = theirs(x.repeat(len(CAPTIONS), 1, 1, 1), CAPTIONS)
        with pytest.warns(PromptTruncatedWarning):
            got = iqa.score("clipscore", x.repeat(len(CAPTIONS), 1, 1, 1), text=CAPTIONS, model=ours, resize="tensor")
        assert (want > 0).any()
        torch.testing.assert_close(got.detach(), want, atol=1e-5, rtol=0)  # float32, same operations


def test_tensor_path_is_differentiable_and_differs_from_pil(files) -> None:  # noqa: ANN001
    x = read_image(files[1])[None][..., :96, :128].requires_grad_(True)
    (g,) = torch.autograd.grad(preprocess(x, 224, "tensor").square().sum(), x)
    assert torch.isfinite(g).all() and g.abs().sum() > 0  # pyiqa's path: gradients reach the pixels
    # the PIL path rounds to uint8 (no gradient); the two paths are two variants, named by the option
    assert (preprocess(x.detach(), 224, "tensor") - preprocess(x.detach(), 224, "pil")).abs().max() > 1e-2


def test_long_prompts_refused_on_request(ours) -> None:  # noqa: ANN001
    m = iqa.create("clipscore", model=ours, long_prompts="refuse")
    x = torch.rand(2, 3, 64, 64)  # 100 words + "A photo depicts" (3) + start and end tokens = 105
    with pytest.raises(InputError, match=r"prompt 'word word.*takes 105 tokens.*77"):
        m(x, ["fine", "word " * 100])
    assert m(x, ["fine", "also fine"]).shape == (2,)


def test_clipscore_torchmetrics_equals_torchmetrics(ours, vit_b32_state, files, tmp_path) -> None:  # noqa: ANN001
    """torchmetrics' CLIPScore on transformers' CLIPModel holding the same random ViT-B/32 (a tower
    torchmetrics offers, openai/clip-vit-base-patch32; its ViT-L/14 default differs only in size)."""
    clip_score = pytest.importorskip("torchmetrics.multimodal.clip_score")
    transformers = pytest.importorskip("transformers")
    from tests.helpers.hf_clip import PooledFeatures, hf_clip_from_openai, hf_tokenizer

    hf = hf_clip_from_openai(vit_b32_state, width_t=512, heads_t=8, layers_t=12, width_v=768, heads_v=12, layers_v=12,
                             patch=32, size=224, embed=512)  # fmt: skip
    processor = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessor(), tokenizer=hf_tokenizer(tmp_path)
    )
    theirs = clip_score.CLIPScore(model_name_or_path=lambda: (PooledFeatures(hf), processor))
    mine = iqa.create("clipscore_torchmetrics", model=ours)
    x = read_image(files[1])[None]  # 512x384: resized to 298x224, cropped at int((298 - 224) / 2)
    u8 = torch.round(x * 255).to(torch.uint8)  # what torchmetrics is given: uint8 pixels
    got, want = [], []
    for caption in ["a woman wearing a hat", "two parrots on a branch"]:  # at least one above 0 (checked below)
        with torch.no_grad():
            want.append(float(theirs(u8, caption)))  # one pair: its score floored at 0, as per image here
            got.append(float(mine(x, [caption])))
        theirs.reset()
    assert any(w > 0 for w in want), want
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)  # scores of order 1-10: float32 summation order


def test_hf_tokenizer_differs_from_openai_on_html_entities(tmp_path) -> None:  # noqa: ANN001
    """A documented difference: transformers' CLIP tokenizer does not unescape HTML (OpenAI's ftfy +
    html.unescape does), so torchmetrics tokenises "&amp;" otherwise; clipscore_torchmetrics keeps OpenAI's."""
    pytest.importorskip("transformers")
    from tests.helpers.hf_clip import hf_tokenizer

    tok = hf_tokenizer(tmp_path)
    same = ["a dog on the grass", "", "  several   spaces\tand\na newline  ", "Hello, World! It's 3:45pm"]
    for p in [*same, "fish &amp; chips"]:
        ours = tokenize([p], prefix="")[0]
        hf = tok([p])["input_ids"][0]
        assert (ours[ours != 0].tolist() == hf) == (p in same), p
