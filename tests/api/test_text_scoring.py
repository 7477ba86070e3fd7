"""``iqa.score`` with text-image metrics: prompts in every input form, clear errors, folders with a
prompts CSV (per-file errors, truncation flags, resume that notices a changed prompt)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.api.jobs import ScoreJob, score_job
from iqa.errors import InputError
from iqa.io import read_image
from iqa.io.prompts import read_prompts
from iqa.metrics.base import PromptTruncatedWarning
from tests.helpers.testers import make_metric

pytest.importorskip("open_clip")


@pytest.fixture(scope="module")
def metric():  # noqa: ANN201
    return make_metric("clipscore")  # the reduced-size stand-in CLIP (tests/helpers/stand_ins.py)


def _write(folder: Path, sizes: list[tuple[int, int]]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate(sizes):
        p = folder / f"img{i + 1}.png"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    return paths


def _prompts(path: Path, rows: list[tuple[str, str]], header: tuple[str, ...] = ("file", "prompt")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def test_tensors_lists_and_single_images(metric, photos) -> None:  # noqa: ANN001
    texts = ["a", "b c", "", "unicode 東京"]
    want = metric(photos, texts)
    assert torch.equal(iqa.score(metric, photos, text=texts), want)
    assert torch.equal(iqa.score(metric, photos[1], text="b c"), want[1:2])  # (C, H, W) + one string
    mixed = [photos[0], photos[1][:, :100, :160]]  # sizes differ: scored one by one, prompts in order
    got = iqa.score(metric, mixed, text=["a", "b c"])
    assert torch.allclose(got[0], want[0], atol=1e-6) and got.shape == (2,)
    assert torch.allclose(got[1:], metric(photos[1:2, :, :100, :160], ["b c"]), atol=1e-6)


def test_clear_errors(metric, photos) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match="got 4 images but 3 prompts"):
        iqa.score(metric, photos, text=["a", "b", "c"])
    with pytest.raises(InputError, match="pass text="):
        iqa.score(metric, photos)
    with pytest.raises(InputError, match="not a text-image metric"):
        iqa.score("psnr", photos, photos, text=["a"] * 4)
    with pytest.raises(InputError, match="not ref"):
        iqa.score(metric, photos, photos, text=["a"] * 4)
    with pytest.raises(InputError, match="lists of reference captions"):
        iqa.score(metric, photos, text=["a"] * 4, refs=[["x"]])
    with pytest.raises(InputError, match="for folders"):
        iqa.score(metric, photos, prompts="p.csv")


def test_refs_give_refclipscore(metric, photos) -> None:  # noqa: ANN001
    plain = metric(photos[:2], ["a", "b"])
    ref = iqa.score(metric, photos[:2], text=["a", "b"], refs=[["a"], ["z", "b"]])
    # the caption is among its references: best text-text cosine 1, so RefCLIPScore = 2s / (s + 1)
    torch.testing.assert_close(ref, 2 * plain / (plain + 1), atol=1e-5, rtol=0)
    with pytest.raises(InputError, match="takes no reference captions"):
        iqa.score(make_metric("clipscore_torchmetrics"), photos[:1], text=["a"], refs=[["b"]])


def test_truncation_is_reported_or_refused(metric, photos) -> None:  # noqa: ANN001
    with pytest.warns(PromptTruncatedWarning, match="1 of 2 prompts"):
        iqa.score(metric, photos[:2], text=["short", "long " * 80])
    refuse = make_metric("clipscore", long_prompts="refuse")  # 80 words + 3 of the prefix + start and end
    with pytest.raises(InputError, match="prompt 'long long.*takes 85 tokens"):
        iqa.score(refuse, photos[:2], text=["short", "long " * 80])


def test_folder_with_prompts_csv(metric, tmp_path: Path) -> None:  # noqa: ANN001
    files = _write(tmp_path / "imgs", [(48, 64), (64, 48), (40, 40)])
    csv_path = _prompts(tmp_path / "p.csv", [("img1.png", "a, quoted \"prompt\""), ("img2.png", "word " * 90),
                                             ("gone.png", "no such image")])  # fmt: skip
    with pytest.warns(UserWarning) as rec:
        df = iqa.score(metric, tmp_path / "imgs", prompts=csv_path)
    messages = [str(w.message) for w in rec]
    assert any("prompts for 1 file(s) not in" in m and "gone.png" in m for m in messages), messages
    assert any("1 of 3 prompts were longer" in m for m in messages), messages
    assert list(df.columns) == ["file", "ref", "prompt", "clipscore", "truncated", "error"]
    assert list(df["prompt"]) == ['a, quoted "prompt"', "word " * 90, ""]
    assert list(df["truncated"]) == ["", "clipscore", ""]
    assert (
        df["error"][0] == "" and "no prompt for img3.png in p.csv" in df["error"][2] and math.isnan(df["clipscore"][2])
    )
    x = read_image(files[0])[None]
    assert df["clipscore"][0] == pytest.approx(metric(x, ['a, quoted "prompt"']).item(), abs=1e-6)


def test_resume_rescores_a_changed_prompt(metric, tmp_path: Path) -> None:  # noqa: ANN001
    _write(tmp_path / "imgs", [(48, 64), (48, 64)])
    out = tmp_path / "scores.csv"

    def run(prompts: Path, **kw: bool) -> list[dict]:
        job = ScoreJob(root=tmp_path / "imgs", metrics={"clipscore": metric}, prompts=prompts)
        return score_job(job, out, **kw)

    first = run(_prompts(tmp_path / "a.csv", [("img1.png", "a cat"), ("img2.png", "a dog")]))
    text = out.read_text().replace(str(first[0]["clipscore"]), "0.125")  # mark img1's stored score
    out.write_text(text)
    again = run(_prompts(tmp_path / "b.csv", [("img1.png", "a cat"), ("img2.png", "a red car")]), resume=True)
    assert again[0]["clipscore"] == 0.125  # same prompt: the stored row is kept, not recomputed
    assert again[1]["prompt"] == "a red car"  # changed prompt: rescored, never the old score reused
    x = read_image(tmp_path / "imgs" / "img2.png")[None]
    assert again[1]["clipscore"] == pytest.approx(metric(x, ["a red car"]).item(), abs=1e-6)
    assert again[1]["clipscore"] != pytest.approx(first[1]["clipscore"], abs=1e-9)


@pytest.mark.parametrize(
    "content,match",
    [
        ("file,caption\na.png,x\n", r"no 'prompt' column in its header \['file', 'caption'\]"),
        ("a.png,x\n", "no 'file' or 'prompt' column"),
        ("file,prompt\na.png,x\nb.png,y\na.png,z\n", r"names a file twice: a.png \(rows 2 and 4\)"),
        ("file,prompt\n/abs/a.png,x\n", "not a path relative to the image folder"),
        ("file,prompt\n../a.png,x\n", "not a path relative"),
        ("", "is empty"),
    ],
)
def test_prompts_file_problems(tmp_path: Path, content: str, match: str) -> None:
    p = tmp_path / "prompts.csv"
    p.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=match) as e:
        read_prompts(p)
    assert str(p) in str(e.value)


def test_prompts_file_format(tmp_path: Path) -> None:
    p = tmp_path / "prompts.csv"
    body = ' Prompt , id, FILE \n"two\nlines, and ""quotes""",1,./sub/a.png\n,2,b.png\n\n"東京",3,c.png\n'
    p.write_bytes(b"\xef\xbb\xbf" + body.encode("utf-8"))  # a byte-order mark, as Excel writes
    table = read_prompts(p)
    assert table.prompts == {"sub/a.png": 'two\nlines, and "quotes"', "b.png": "", "c.png": "東京"}
    assert (
        table.lookup("b.png")[0] is None and "empty prompt for b.png in prompts.csv row 3" in table.lookup("b.png")[1]
    )
    p.write_bytes(b"file,prompt\na.png,\xff\xfe\n")
    with pytest.raises(InputError, match="cannot be read"):
        read_prompts(p)
    with pytest.raises(InputError, match="does not exist"):
        read_prompts(tmp_path / "none.csv")
