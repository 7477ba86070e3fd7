"""Result journal, atomic final files, resume rules and shard merging."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from iqa.api.results import ResultStore, journal_path, merge_tables, read_table, write_table
from iqa.errors import InputError, OutputExistsError

COLS = ["file", "ref", "ssim", "error"]
ROWS = [
    {"file": "img10.png", "ref": "r.png", "ssim": 0.25, "error": ""},
    {"file": "img2.png", "ref": "r.png", "ssim": math.nan, "error": "bad file"},
    {"file": "img1.png", "ref": "r.png", "ssim": 0.1 + 0.2, "error": ""},
]


@pytest.mark.parametrize("ext", [".csv", ".json", ".parquet"])
def test_roundtrip_is_exact(tmp_path: Path, ext: str) -> None:
    if ext == ".parquet":
        pytest.importorskip("pyarrow")
    p = tmp_path / f"t{ext}"
    write_table(p, ROWS, COLS)
    rows, cols = read_table(p)
    assert cols == COLS and rows[2]["ssim"] == 0.1 + 0.2 and math.isnan(rows[1]["ssim"])


def test_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=".csv, .json or .parquet"):
        write_table(tmp_path / "t.xlsx", ROWS, COLS)


def test_journal_survives_a_torn_line_and_resumes(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    store = ResultStore(out, COLS, {"m": 1})
    store.append(ROWS[:2])
    store._fh.close()  # simulate a kill: the process dies with the journal open
    with open(journal_path(out), "a") as f:
        f.write('{"file": "img1.png", "ref"')  # a write cut in half
    with pytest.raises(OutputExistsError, match="--resume"):
        ResultStore(out, COLS, {"m": 1})
    with pytest.raises(InputError, match="different settings"):
        ResultStore(out, COLS, {"m": 2}, resume=True)
    again = ResultStore(out, COLS, {"m": 1}, resume=True)
    assert again.done() == {"img10.png", "img2.png"}
    again.append(ROWS[2:])
    rows = again.finalize()
    assert [r["file"] for r in rows] == ["img1.png", "img2.png", "img10.png"]  # natural order
    assert not journal_path(out).exists()
    assert read_table(out)[0][0]["ssim"] == 0.1 + 0.2


def test_merge_joins_and_detects_conflicts(tmp_path: Path) -> None:
    a, b = tmp_path / "a.csv", tmp_path / "b.json"
    write_table(a, ROWS[:1], COLS)
    write_table(b, ROWS[1:], COLS)
    rows = merge_tables([a, b], tmp_path / "m.csv")
    assert [r["file"] for r in rows] == ["img1.png", "img2.png", "img10.png"]
    write_table(b, [{**ROWS[0], "ssim": 0.5}], COLS)
    with pytest.raises(InputError, match="differs"):
        merge_tables([a, b], tmp_path / "m.csv")


def _folder(root: Path, n: int, seed: int) -> Path:
    import numpy as np
    from PIL import Image

    root.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)).save(root / f"img{i}.png")
    return root


def test_score_job_journals_resumes_and_reports_progress(tmp_path: Path) -> None:
    import iqa
    from iqa.api.jobs import ScoreJob, score_job
    from iqa.api.settings import RunSettings

    folder, refs = _folder(tmp_path / "imgs", 5, seed=0), _folder(tmp_path / "refs", 5, seed=1)
    seen: list[tuple[str, int, int]] = []

    def crash_after_first_chunk(label: str, done: int, total: int) -> None:
        seen.append((label, done, total))
        if done == 2:
            raise KeyboardInterrupt

    def job(progress=None) -> ScoreJob:  # noqa: ANN001
        settings = RunSettings(batch_size=2, workers=1, progress=progress)
        return ScoreJob(root=folder, ref_root=refs, metrics={"psnr": iqa.create("psnr")}, settings=settings)

    whole = score_job(job())
    assert [r["file"] for r in whole] == [f"img{i}.png" for i in range(5)]
    out = tmp_path / "scores.csv"
    with pytest.raises(KeyboardInterrupt):
        score_job(job(crash_after_first_chunk), out)
    assert seen == [("scoring", 0, 5), ("scoring", 2, 5)] and journal_path(out).exists()
    with pytest.raises(OutputExistsError):
        score_job(job(), out)
    seen.clear()
    resumed = score_job(job(lambda *a: seen.append(a)), out, resume=True)
    assert seen[0] == ("scoring", 2, 5) and seen[-1] == ("scoring", 5, 5)  # the first chunk was not redone
    assert [r["psnr"] for r in resumed] == [r["psnr"] for r in whole]  # bit-identical after the resume
    assert read_table(out)[1] == ["file", "ref", "psnr", "error"] and not journal_path(out).exists()
    with pytest.raises(InputError, match="need an output"):
        score_job(job(), resume=True)
