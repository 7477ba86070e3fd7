"""HPSv2 end to end against the ``hpsv2`` package's own ``score`` function, and through the CLI.

Parity: one seeded random state dict in the released layout (open_clip ViT-H-14, ~1B parameters, 3.9 GB
float32, built once for the module and shared by both networks: each takes the same tensors), the same
image files from ../shared, each side through its own input path: ``hpsv2.img_score.score(files,
prompt, cp=...)`` unchanged (its model slot filled with the vendored ``create_model_and_transforms``
model holding the random tensors, its ``torch.load`` handing back ``{"state_dict": state}`` instead of
reading a 4 GB file) vs iqa's ``hpsv2``. The package runs float32 on a CPU (its autocast is CUDA's).
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.io import read_image
from iqa.metrics.text.hpsv2 import HPSv2, HPSv21, hpsv2
from iqa.models.hpsv2 import build_hpsv2
from tests.conftest import shared_path
from tests.helpers.hpsv2_ref import import_hpsv2_open_clip, reference_model
from tests.helpers.seeded_state import seeded_state

open_clip = pytest.importorskip("open_clip")

PROMPTS = ["a woman wearing a hat", "word " * 100]  # the second is truncated to 77 tokens by both sides


@pytest.fixture(scope="module")
def ref():  # noqa: ANN201
    return import_hpsv2_open_clip()


def _score_function(ref, model, preprocess_val, state, monkeypatch, tmp_path):  # noqa: ANN001, ANN202
    """``hpsv2.img_score.score`` with its model slot filled and its checkpoint read replaced (see the docstring)."""
    filters = warnings.filters[:]
    try:
        import hpsv2.img_score as img_score  # sets a global "ignore UserWarning" filter: undone below
    finally:
        warnings.filters[:] = filters
    monkeypatch.setitem(img_score.model_dict, "model", model)
    monkeypatch.setitem(img_score.model_dict, "preprocess_val", preprocess_val)
    monkeypatch.setattr(img_score, "root_path", str(tmp_path))
    monkeypatch.setattr(img_score.torch, "load", lambda *a, **k: {"state_dict": state})
    assert img_score.device == "cpu" or not torch.cuda.is_available()
    return img_score.score


@pytest.mark.slow  # ViT-H/14: a 4 GB state dict and two ~170 GFLOP image passes
def test_hpsv2_equals_package_score(ref, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """One (image, prompt) pair on ViT-H/14 (two image-tower passes in all); a portrait file, so the letterbox
    pads the width. Truncation and the other shapes are checked on a reduced network below and in
    tests/models/test_hpsv2.py (the computation is the same)."""
    file = shared_path("data", "images", "Set5", "woman_GT.bmp")
    model, preprocess_val = reference_model(ref)
    state = seeded_state(model)
    model.load_state_dict(state, strict=True, assign=True)  # the same tensors as ours: no second 4 GB copy
    model.attn_mask = torch.full(model.attn_mask.shape, float("-inf")).triu_(1)  # left on meta by the build
    ours = build_hpsv2(state)
    assert ours.visual.proj.data_ptr() == state["visual.proj"].data_ptr()  # shared, not copied
    score = _score_function(ref, model, preprocess_val, state, monkeypatch, tmp_path)
    want = torch.tensor(score([str(file)], PROMPTS[0], cp="HPS_v2_compressed.pt"), dtype=torch.float32)
    with torch.no_grad():
        got = hpsv2(read_image(file)[None], PROMPTS[:1], model=ours)
    assert want.abs().min() > 1e-3  # random towers: cosines of order 1e-2, not zero
    torch.testing.assert_close(got, want, rtol=0, atol=1e-5)  # float32 summation order over 56 blocks


def test_small_network_equals_package_score(ref, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    """The same comparison on a reduced network in the released layout (64 px input, the release's head widths):
    a portrait and a landscape file and a prompt truncated to 77 tokens."""
    files = [
        shared_path("data", "images", "Set5", "woman_GT.bmp"),
        shared_path("data", "images", "TID-refs", "I03.bmp"),
    ]
    model = ref.model.CLIP(embed_dim=32, vision_cfg=_SMALL_VISION, text_cfg=_SMALL_TEXT, output_dict=True).eval()
    state = seeded_state(model, seed=1)
    model.load_state_dict(state)
    preprocess_val = ref.transform.image_transform(64, is_train=False, resize_longest_max=True)
    score = _score_function(ref, model, preprocess_val, state, monkeypatch, tmp_path)
    want = torch.tensor([score([str(f)], p, cp="HPS_v2_compressed.pt")[0] for f, p in zip(files, PROMPTS)])
    ours = build_hpsv2(state)
    with torch.no_grad():
        got = torch.cat([hpsv2(read_image(f)[None], [p], model=ours) for f, p in zip(files, PROMPTS)])
    assert want.abs().min() > 1e-3
    torch.testing.assert_close(got, want, rtol=0, atol=1e-6)  # float32 summation order


_SMALL_VISION = {"image_size": 64, "layers": 2, "width": 160, "head_width": 80, "patch_size": 16}
_SMALL_TEXT = {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 1, "layers": 2}


@pytest.mark.parametrize("name,filename", [("hpsv2", "HPS_v2_compressed.pt"), ("hpsv21", "HPS_v2.1_compressed.pt")])
def test_cli_scores_with_released_file_layout(name: str, filename: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """``iqa score DIR --prompts p.csv -m hpsv2`` with a small file in the released layout (``{"state_dict": ...}``)
    where users put the release (manifest entry without a published hash: trusted and recorded on first use)."""
    torch.manual_seed(2)
    state = open_clip.CLIP(embed_dim=32, vision_cfg=_SMALL_VISION, text_cfg=_SMALL_TEXT).state_dict()
    (tmp_path / "weights" / "hpsv2").mkdir(parents=True)
    torch.save({"state_dict": state}, tmp_path / "weights" / "hpsv2" / filename)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path / "weights"))
    folder = tmp_path / "img"
    folder.mkdir()
    rng = np.random.default_rng(3)
    for i in range(2):
        Image.fromarray(rng.integers(0, 256, (48 + 16 * i, 80, 3), dtype=np.uint8)).save(folder / f"im{i + 1}.png")
    (tmp_path / "p.csv").write_text("file,prompt\nim1.png,a red bicycle\nim2.png,Ünïcödé café\n", encoding="utf-8")
    out = tmp_path / "scores.csv"
    r = CliRunner().invoke(cli, ["score", str(folder), "--prompts", str(tmp_path / "p.csv"), "-m", name,
                                 "-o", str(out), "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    m = (HPSv2 if name == "hpsv2" else HPSv21)(model=build_hpsv2(state))
    with torch.no_grad():
        want = [m(read_image(folder / row["file"])[None], [row["prompt"]]).item() for row in rows]
    np.testing.assert_allclose([float(row[name]) for row in rows], want, atol=1e-6)  # the CSV's digits
    assert iqa.get_spec(name).weights == ((f"hpsv2_v2.{0 if name == 'hpsv2' else 1}"),)
