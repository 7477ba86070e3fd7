"""``iqa score DIR --prompts prompts.csv -m clipscore`` end to end, with a small random tower file.

The tower is a reduced-size CLIP written as OpenAI ships its towers (a TorchScript archive of
float16 tensors) and put where a user puts the real ``ViT-B-32.pt``: ``$IQA_WEIGHTS_DIR/clip/``. A
random file cannot carry OpenAI's sha256, so the manifest entry is pointed at this file's hash; the
store's verification itself runs unchanged (as tests/metrics/nr/test_musiq.py does).
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.io import read_image
from tests.helpers.stand_ins import BUILDERS
from tests.helpers.torchscript_archive import save_state_as_torchscript

pytest.importorskip("open_clip")


@pytest.fixture
def tower(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> torch.nn.Module:
    """The stand-in CLIP saved as IQA_WEIGHTS_DIR/clip/ViT-B-32.pt; returns the model as loaded back."""
    import iqa.weights.store as store
    from iqa.features.clip import clip_from_openai_archive

    model = BUILDERS["clip_small_text"](iqa.get_spec("clipscore"), {})
    wdir = tmp_path / "weights"
    (wdir / "clip").mkdir(parents=True)
    archive = save_state_as_torchscript({k: v.half() for k, v in model.state_dict().items()}, wdir / "clip/ViT-B-32.pt")
    real = store.get_weight_spec

    def spec_of(weight_id: str) -> object:
        spec = real(weight_id)
        return (
            dataclasses.replace(spec, sha256=store.sha256_file(archive)) if weight_id == "clip_vit_b32_openai" else spec
        )

    monkeypatch.setattr(store, "get_weight_spec", spec_of)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    return clip_from_openai_archive(archive)


def _images(folder: Path, n: int = 3) -> list[Path]:
    folder.mkdir()
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        out.append(folder / f"im{i + 1}.png")
        Image.fromarray(rng.integers(0, 256, (40 + 8 * i, 56, 3), dtype=np.uint8)).save(out[-1])
    return out


def _csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _rows(output: str) -> list[dict]:
    lines = [ln for ln in output.splitlines() if ln.startswith(("file,", "im"))]
    return list(csv.DictReader(io.StringIO("\n".join(lines))))


def test_score_with_prompts(tmp_path: Path, tower: torch.nn.Module) -> None:
    files = _images(tmp_path / "img")
    long = "word " * 90
    prompts = _csv(tmp_path / "p.csv", f'file,prompt\nim1.png,"a dog, running"\nim2.png,{long}\nother.png,x\n')
    out = tmp_path / "scores.csv"
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "--prompts", str(prompts), "-m", "clipscore",
                                 "-o", str(out), "-q"])  # fmt: skip
    assert r.exit_code == 1, r.output  # im3.png has no prompt: a per-file error, the others scored
    assert "no prompt for im3.png in p.csv" in r.output and "1 prompt(s) truncated" in r.output
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [row["file"] for row in rows] == ["im1.png", "im2.png", "im3.png"]
    assert [row["prompt"] for row in rows] == ["a dog, running", long, ""]
    assert [row["truncated"] for row in rows] == ["", "clipscore", ""]
    assert rows[2]["clipscore"] == "" and rows[0]["error"] == rows[1]["error"] == ""
    m = iqa.create("clipscore", model=tower)
    with torch.no_grad():
        want = [m.score_pairs(read_image(f)[None], [t], None).item() for f, t in zip(files, ["a dog, running", long])]
    got = [float(rows[i]["clipscore"]) for i in range(2)]
    np.testing.assert_allclose(got, want, atol=1e-6)  # the CSV's printed digits

    # --opt long_prompts=refuse: the long prompt (90 words + 3 prefix + start, end) is its row's error instead
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "--prompts", str(prompts), "-m", "clipscore",
                                 "--opt", "clipscore.long_prompts=refuse", "-q"])  # fmt: skip
    rows = _rows(r.output)
    assert r.exit_code == 1 and "takes 95 tokens" in rows[1]["error"] and rows[1]["clipscore"] == ""


def test_resume_notices_a_changed_prompt(tmp_path: Path, tower: torch.nn.Module) -> None:
    _images(tmp_path / "img", 2)
    out = tmp_path / "s.csv"
    args = ["score", str(tmp_path / "img"), "-m", "clipscore", "-o", str(out), "-q", "--prompts"]
    a = _csv(tmp_path / "a.csv", "file,prompt\nim1.png,a cat\nim2.png,a dog\n")
    assert CliRunner().invoke(cli, [*args, str(a)]).exit_code == 0
    before = list(csv.DictReader(out.open()))
    b = _csv(tmp_path / "b.csv", "file,prompt\nim1.png,a cat\nim2.png,a bicycle\n")
    r = CliRunner().invoke(cli, [*args, str(b), "--resume"])
    assert r.exit_code == 0, r.output
    after = list(csv.DictReader(out.open()))
    assert (
        after[0] == before[0] and after[1]["prompt"] == "a bicycle" and after[1]["clipscore"] != before[1]["clipscore"]
    )


@pytest.mark.parametrize(
    "content,message",
    [
        ("name,text\nim1.png,x\n", "no 'file' or 'prompt' column"),
        ("file,prompt\nim1.png,x\nim1.png,y\n", "names a file twice: im1.png (rows 2 and 3)"),
    ],
)
def test_bad_prompts_file_stops_before_any_image(tmp_path: Path, content: str, message: str) -> None:
    _images(tmp_path / "img", 1)
    prompts = _csv(tmp_path / "p.csv", content)
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "--prompts", str(prompts), "-m", "clipscore"])
    assert r.exit_code != 0 and "found before any image was read" in r.output, r.output
    assert message in r.output and str(prompts) in r.output


def test_prompts_needed_and_only_for_text_metrics(tmp_path: Path) -> None:
    _images(tmp_path / "img", 1)
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "-m", "clipscore"])
    assert r.exit_code != 0 and "give them with --prompts prompts.csv" in r.output, r.output
    prompts = _csv(tmp_path / "p.csv", "file,prompt\nim1.png,x\n")
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "--ref", str(tmp_path / "img"), "-m", "psnr",
                                 "--prompts", str(prompts)])  # fmt: skip
    assert r.exit_code != 0 and "no text-image metric" in r.output, r.output
