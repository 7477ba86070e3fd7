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
