"""Result journal, atomic final files, resume rules, the output lock, file modes and shard merging."""

from __future__ import annotations

import json
import math
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from iqa.api.results import (
    ResultStore,
    journal_path,
    merge_tables,
    read_shard_record,
    read_table,
    shard_record_path,
    write_table,
)
from iqa.errors import InputError, OutputExistsError
from iqa.io.locks import OutputLockedError, lock_path

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
    store.close()  # the run stops with its rows journaled (a real kill -9: tests/reliability)
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
    with pytest.raises(InputError, match=r"a\.csv, b\.json have no shard record.*allow_partial=True"):
        merge_tables([a, b], tmp_path / "m.csv")  # tables without K/N: completeness cannot be checked
    with pytest.warns(UserWarning, match="no shard record.*merging anyway"):
        rows = merge_tables([a, b], tmp_path / "m.csv", allow_partial=True)
    assert [r["file"] for r in rows] == ["img1.png", "img2.png", "img10.png"]
    write_table(b, [{**ROWS[0], "ssim": 0.5}], COLS)
    with pytest.raises(InputError, match="differs"), pytest.warns(UserWarning):
        merge_tables([a, b], tmp_path / "m.csv", allow_partial=True)


META = {"metrics": {"ssim": {"downsample": True}}, "batch_size": 2, "ref_pattern": None, "alpha": "drop"}
FILES = [f"img{i}.png" for i in range(7)]


def _row(name: str) -> dict:
    return {"file": name, "ref": name, "ssim": 0.5 + FILES.index(name) / 100, "error": ""}


def _shard(folder: Path, k: int, n: int, ext: str = ".csv", **meta: object) -> Path:
    """Shard k/n of FILES written as `iqa score --shard k/n` writes it (every n-th file from the k-th)."""
    folder.mkdir(exist_ok=True)
    out = folder / f"part{k}of{n}{ext}"
    store = ResultStore(out, COLS, {**META, **meta, "shard": [k, n]})
    store.append([_row(f) for i, f in enumerate(FILES) if i % n == k - 1])
    store.finalize()
    return out


def test_shards_record_k_of_n_and_merge_only_a_complete_set(tmp_path: Path) -> None:
    parts = [_shard(tmp_path, k, 3, ext) for k, ext in ((1, ".csv"), (2, ".json"), (3, ".csv"))]
    rec = read_shard_record(parts[1])
    assert rec is not None and (rec.k, rec.n, rec.rows) == (2, 3, 2)  # files 1 and 4 of 0..6
    assert json.loads(shard_record_path(parts[1]).read_text())["shard"] == [2, 3]
    records = [shard_record_path(p) for p in parts]  # what `iqa merge part*` picks up as well
    rows = merge_tables([*parts, *records], tmp_path / "all.csv")
    assert [r["file"] for r in rows] == FILES and not shard_record_path(tmp_path / "all.csv").exists()

    with pytest.raises(InputError, match=r"shard\(s\) 2/3 missing.*--allow-partial"):
        merge_tables([parts[0], parts[2]], tmp_path / "m.csv")
    assert not (tmp_path / "m.csv").exists()
    with pytest.warns(UserWarning, match=r"shard\(s\) 2/3 missing.*merging anyway"):
        partial = merge_tables([parts[0], parts[2]], tmp_path / "m.csv", allow_partial=True)
    assert [r["file"] for r in partial] == ["img0.png", "img2.png", "img3.png", "img5.png", "img6.png"]


def test_merge_refuses_duplicates_mixed_n_other_settings_and_edited_tables(tmp_path: Path) -> None:
    one, two = _shard(tmp_path, 1, 2), _shard(tmp_path, 2, 2)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(one.read_bytes())
    shard_record_path(copy).write_bytes(shard_record_path(one).read_bytes())
    with pytest.raises(InputError, match=r"shard 1/2 given twice: part1of2\.csv and copy\.csv"):
        merge_tables([one, two, copy], tmp_path / "m.csv", allow_partial=True)  # not overridable
    with pytest.raises(InputError, match=r"part1of2\.csv is shard 1/2 but part2of3\.csv is shard 2/3"):
        merge_tables([one, _shard(tmp_path, 2, 3)], tmp_path / "m.csv", allow_partial=True)
    other = _shard(tmp_path / "o", 2, 2, alpha="white")
    with pytest.raises(InputError, match=r"other settings than part1of2\.csv \(alpha\)"):
        merge_tables([one, other], tmp_path / "m.csv")
    faster = _shard(tmp_path / "b", 2, 2, batch_size=8)
    assert len(merge_tables([one, faster], tmp_path / "m.csv")) == len(FILES)  # batch size changes no result
    rows, cols = read_table(two)
    write_table(two, rows[:-1], cols)  # a row deleted by hand after the shard finished
    with pytest.raises(InputError, match="part2of2.csv has 2 rows but its shard record says 3"):
        merge_tables([one, two], tmp_path / "m.csv")


def test_an_unsharded_rerun_drops_a_stale_shard_record(tmp_path: Path) -> None:
    out = _shard(tmp_path, 1, 2)
    store = ResultStore(out, COLS, {**META, "shard": [1, 1]}, overwrite=True)
    store.append([_row(f) for f in FILES])
    store.finalize()
    assert read_shard_record(out) is None  # else a merge would trust 1/2 for a whole table


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    first = ResultStore(out, COLS, {"m": 1})
    holder = json.loads(lock_path(out).read_text())
    assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname() and "UTC" in holder["started"]
    for kw in ({}, {"overwrite": True}, {"resume": True}):  # no flag lets a second run in
        with pytest.raises(OutputLockedError, match=rf"s\.csv is being written by another run \(pid {os.getpid()} on "):
            ResultStore(out, COLS, {"m": 1}, **kw)
    first.append(ROWS[:1])
    first.finalize()
    assert not lock_path(out).exists()  # released and removed with the final file
    with ResultStore(out, COLS, {"m": 1}, resume=True) as again:
        assert again.done() == {"img10.png"}
    assert not lock_path(out).exists()  # the context manager released it without a final table


def test_a_refused_store_leaves_no_lock(tmp_path: Path) -> None:
    out = tmp_path / "s.csv"
    out.write_text("file,ref,ssim,error\n")
    with pytest.raises(OutputExistsError):
        ResultStore(out, COLS, {"m": 1})
    with pytest.raises(InputError, match="columns"):
        ResultStore(out, ["file", "ref", "psnr", "error"], {"m": 1}, resume=True)
    assert not lock_path(out).exists()
    ResultStore(out, COLS, {"m": 1}, resume=True).finalize()  # the next run is not blocked


@contextmanager
def _umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def _mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
@pytest.mark.parametrize(
    ("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)], ids=["022", "027", "002"]
)
def test_outputs_get_the_usual_permissions(tmp_path: Path, mask: int, expected: int) -> None:
    out = tmp_path / "s.csv"
    with _umask(mask):
        store = ResultStore(out, COLS, {"m": 1})
        store.append(ROWS)
        assert _mode(journal_path(out)) == expected
        store.finalize()
        merge_tables([_shard(tmp_path, 1, 2), _shard(tmp_path, 2, 2)], tmp_path / "m.json")
        assert _mode(shard_record_path(tmp_path / "part1of2.csv")) == expected
    assert _mode(out) == expected and _mode(tmp_path / "m.json") == expected  # 0666 & ~umask, not 0600
    os.chmod(out, 0o600)  # a user made it private: a rewrite (resume) keeps that
    with _umask(mask):
        ResultStore(out, COLS, {"m": 1}, resume=True).finalize()
    assert _mode(out) == 0o600


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
