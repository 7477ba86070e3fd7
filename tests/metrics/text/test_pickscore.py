"""PickScore end to end against the authors' README pipeline (transformers 5), and through the CLI.

Parity: one seeded random state dict in the released layout (transformers ``CLIPModel``, ViT-H/14,
~1B parameters, 3.9 GB float32, built once for the module and shared by both networks: each takes
the same tensors), the same image files from ../shared, each side through its own input path: the
README's ``CLIPProcessor`` (laion ``preprocessor_config.json``: size 224, crop 224, bicubic, CLIP
mean/std; ``CLIPTokenizer``, ``padding=True, truncation=True, max_length=77``) and
``logit_scale.exp() * cos`` of ``get_image_features`` / ``get_text_features`` vs iqa's
``pickscore``. The tokenizer is made from the CLIP BPE tables (tests/models/test_pickscore.py).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.io import read_image
from iqa.metrics.text.pickscore import PickScore, pickscore
from iqa.models.pickscore import CLIPConfig, PickScoreCLIP, build_pickscore
from tests.conftest import shared_path
from tests.helpers.seeded_state import seeded_state
from tests.models.test_pickscore import LAION_TEXT, LAION_VISION, hf_config
from tests.models.test_pickscore import hf_tokenizer as hf_tokenizer  # noqa: F401 - the module fixture

transformers = pytest.importorskip("transformers")
pytest.importorskip("safetensors")

# laion/CLIP-ViT-H-14-laion2B-s32B-b79K preprocessor_config.json
LAION_PREPROCESSOR = {"do_resize": True, "size": 224, "resample": 3, "do_center_crop": True, "crop_size": 224,
                      "do_normalize": True, "image_mean": [0.48145466, 0.4578275, 0.40821073],
                      "image_std": [0.26862954, 0.26130258, 0.27577711]}  # fmt: skip
PROMPTS = ["a woman wearing a hat", "word " * 100]  # the second is truncated to 77 tokens by both sides


@pytest.fixture(scope="module")
def state() -> dict[str, torch.Tensor]:
    with torch.device("meta"):
        skeleton = PickScoreCLIP()
    return seeded_state(skeleton)


def _reference_model(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    with torch.device("meta"):
        ref = transformers.CLIPModel(hf_config())
    ref.load_state_dict(state, strict=True, assign=True)  # the same tensors as ours: no second 4 GB copy
    for name, buf in list(ref.named_buffers()):  # non-persistent position_ids, left on meta
        if buf.is_meta:
            owner = ref.get_submodule(name.rsplit(".", 1)[0])
            owner.register_buffer("position_ids", torch.arange(buf.shape[-1]).expand(1, -1), persistent=False)
    return ref.eval()


@pytest.mark.slow  # ViT-H/14: a 4 GB state dict and two ~170 GFLOP image passes
def test_pickscore_equals_readme_pipeline(state, hf_tokenizer) -> None:  # noqa: ANN001, F811
    """One (image, prompt) pair on ViT-H/14 (two image-tower passes in all: ~1 TFLOP); the truncation of long
    prompts and both crop orientations are checked on a reduced network below, as the computation is the same."""
    file = shared_path("data", "images", "Set5", "woman_GT.bmp")  # portrait: the crop runs along the height
    ours, ref = build_pickscore(state), _reference_model(state)
    assert (
        ours.visual_projection.weight.data_ptr() == state["visual_projection.weight"].data_ptr()
    )  # shared, not copied
    processor = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessor(**LAION_PREPROCESSOR), tokenizer=hf_tokenizer
    )
    with torch.no_grad():
        want = _readme_scores(ref, processor, [Image.open(file).convert("RGB")], PROMPTS[:1])
        got = pickscore(read_image(file)[None], PROMPTS[:1], model=ours)
    assert want.abs().min() > 0.05  # random towers: scores of order 1 (100 x cosines of order 1e-2), not zero
    torch.testing.assert_close(got, want, rtol=0, atol=1e-3)  # 1e-5 in the cosine: float32 order over 56 blocks


def _readme_scores(ref: torch.nn.Module, processor: object, images: list, prompts: list[str]) -> torch.Tensor:
    """The README's ``logit_scale.exp() * (text_embs @ image_embs.T)``, pair i = (image i, prompt i)."""
    inputs = processor(text=prompts, images=images, padding=True, truncation=True, max_length=77, return_tensors="pt")  # type: ignore[operator]
    e_img = ref.get_image_features(pixel_values=inputs["pixel_values"])
    e_txt = ref.get_text_features(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"])
    e_img, e_txt = getattr(e_img, "pooler_output", e_img), getattr(e_txt, "pooler_output", e_txt)
    e_img, e_txt = e_img / e_img.norm(dim=-1, keepdim=True), e_txt / e_txt.norm(dim=-1, keepdim=True)
    return ref.logit_scale.exp() * (e_txt @ e_img.T).diagonal()


def test_small_network_equals_readme_pipeline(hf_tokenizer) -> None:  # noqa: ANN001, F811
    """The same comparison on a reduced network in the released layout (64 px): a portrait and a landscape
    file (both crop directions of the processor) and a prompt truncated to 77 tokens by both sides."""
    files = [
        shared_path("data", "images", "Set5", "woman_GT.bmp"),
        shared_path("data", "images", "TID-refs", "I03.bmp"),
    ]
    state = _small_state()
    cfg = transformers.CLIPConfig(
        text_config={**LAION_TEXT, "hidden_size": 64, "intermediate_size": 256, "num_attention_heads": 1,
                     "num_hidden_layers": 2},
        vision_config={**LAION_VISION, "hidden_size": 160, "intermediate_size": 640, "num_attention_heads": 2,
                       "num_hidden_layers": 2, "patch_size": 16, "image_size": 64},
        projection_dim=32,
    )  # fmt: skip
    ref = transformers.CLIPModel(cfg).eval()
    ref.load_state_dict(state, strict=True)
    prep = {**LAION_PREPROCESSOR, "size": 64, "crop_size": 64}
    processor = transformers.CLIPProcessor(
        image_processor=transformers.CLIPImageProcessor(**prep), tokenizer=hf_tokenizer
    )
    ours = build_pickscore(state)
    with torch.no_grad():
        want = _readme_scores(ref, processor, [Image.open(f).convert("RGB") for f in files], PROMPTS)
        got = torch.cat([pickscore(read_image(f)[None], [p], model=ours) for f, p in zip(files, PROMPTS)])
    assert want.abs().min() > 0.05
    torch.testing.assert_close(got, want, rtol=0, atol=1e-4)  # float32 summation order


def _small_state() -> dict[str, torch.Tensor]:
    """A reduced network in the released layout (2+2 layers, 64 px, the release's head widths), seeded."""
    cfg = CLIPConfig(image_size=64, patch_size=16, vision_width=160, vision_layers=2, vision_heads=2, vision_mlp=640,
                     text_width=64, text_layers=2, text_heads=1, text_mlp=256, embed_dim=32)  # fmt: skip
    with torch.device("meta"):
        skeleton = PickScoreCLIP(cfg)
    return seeded_state(skeleton, seed=1)


def test_cli_scores_with_released_file_layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``iqa score DIR --prompts p.csv -m pickscore`` with a small file in the released layout where users put
    ``model.safetensors`` (manifest entry without a published hash: trusted and recorded on first use)."""
    from safetensors.torch import save_file

    state = _small_state()
    wdir = tmp_path / "weights" / "pickscore" / "PickScore_v1"
    wdir.mkdir(parents=True)
    save_file(state, str(wdir / "model.safetensors"))
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path / "weights"))
    folder = tmp_path / "img"
    folder.mkdir()
    rng = np.random.default_rng(2)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (48 + 16 * i, 80, 3), dtype=np.uint8)).save(folder / f"im{i + 1}.png")
    (tmp_path / "p.csv").write_text("file,prompt\nim1.png,a red bicycle\nim2.png,Ünïcödé café\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    r = CliRunner().invoke(cli, ["score", str(folder), "--prompts", str(tmp_path / "p.csv"), "-m", "pickscore",
                                 "-o", str(out), "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    m = PickScore(model=build_pickscore(state))
    with torch.no_grad():
        want = [m(read_image(folder / row["file"])[None], [row["prompt"]]).item() for row in rows]
    np.testing.assert_allclose([float(row["pickscore"]) for row in rows], want, atol=1e-5)  # the CSV's digits
    assert iqa.get_spec("pickscore").weights == ("pickscore_v1",)
