"""``score_on_ray`` (``iqa score --engine ray``) gives the single-process table, survives a killed
worker and resumes (issue 24). One local Ray instance (2 CPUs) serves the module.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.api.jobs import ScoreJob, score_job
from iqa.api.ray_engine import ChunkDone, RayOptions, score_on_ray
from iqa.api.results import journal_path, read_table
from iqa.api.settings import RunSettings
from iqa.cli.main import cli
from iqa.io.sources import Source
from iqa.io.tables import TableSource
from iqa.io.webdataset import WebDatasetSource
from tests.engines import FR_NR, assert_same_rows, image_pairs, weights_dir


def _job(root: Path | Source, ref: Path | None = None, names: tuple[str, ...] = FR_NR, batch: int = 3) -> ScoreJob:
    return ScoreJob(
        root=root, ref_root=ref, metrics={n: iqa.create(n) for n in names}, settings=RunSettings(batch_size=batch)
    )


def test_folder_table_equals_the_single_process_one(
    ray_local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights_dir(monkeypatch)
    dist, ref = image_pairs(tmp_path)
    want = score_job(_job(dist, ref), tmp_path / "local.parquet")
    out = tmp_path / "ray.parquet"
    args = ["score", str(dist), "--ref", str(ref), *[a for n in FR_NR for a in ("-m", n)], "--batch-size", "3"]
    r = CliRunner().invoke(cli, [*args, "-o", str(out), "--engine", "ray", "--ray-workers", "2", "-q"])
    assert r.exit_code == 1, r.output  # 1: some rows have an error, as `iqa score` says
    got = read_table(out)[0]
    assert_same_rows(got, read_table(tmp_path / "local.parquet")[0])
    assert_same_rows(got, want)
    errors = {r["file"]: r["error"] for r in got if r["error"]}
    assert set(errors) == {"im3.png", "lonely.png"}  # a corrupt file and a missing reference: rows, not a failure
    assert not journal_path(out).exists()


def _png(x: np.ndarray) -> bytes:
    import io

    buf = io.BytesIO()
    Image.fromarray(x).save(buf, format="PNG")
    return buf.getvalue()


def _pairs(n: int = 6) -> dict[str, tuple[bytes, bytes]]:
    rng = np.random.default_rng(7)
    out = {}
    for i in range(n):
        h, w = (192, 200) if i % 2 else (192, 192)
        x = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        out[f"s{i}"] = (_png(np.clip(x.astype(int) + 9, 0, 255).astype(np.uint8)), _png(x))
    out["s5"] = (b"truncated", out["s5"][1])
    return out


def test_webdataset_shards(ray_local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import webdataset as wds

    weights_dir(monkeypatch)
    pairs, shards = _pairs(), []
    for s, stems in enumerate([["s0", "s1", "s2"], ["s3", "s4", "s5"]]):
        shards.append(tmp_path / f"shard-{s}.tar")
        with wds.TarWriter(str(shards[-1])) as sink:
            for stem in stems:
                sink.write({"__key__": stem, "png": pairs[stem][0], "ref.png": pairs[stem][1]})
    source = WebDatasetSource(shards, image_key="png", ref_key="ref.png")
    names = ("psnr", "niqe")
    want = score_job(_job(source, names=names, batch=2))
    got = score_on_ray(_job(source, names=names, batch=2), ray_options=RayOptions(workers=1))
    assert_same_rows(got, want)
    assert [bool(r["error"]) for r in got] == [False] * 5 + [True]


def test_a_killed_worker_loses_and_duplicates_no_row(
    ray_local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights_dir(monkeypatch)
    dist, ref = image_pairs(tmp_path, n=6)
    want = score_job(_job(dist, ref, batch=1))
    out = tmp_path / "out.json"
    seen: list[tuple[int, str]] = []
    killed: list[str] = []

    def kill_first(c: ChunkDone) -> None:
        # the first chunk is in the journal: kill the worker that scored it, mid-run
        seen.append((c.index, c.worker))
        if not killed:
            assert len(json_lines(out)) > 1
            killed.append(c.worker)
            os.kill(int(c.worker.rsplit(":", 1)[1]), signal.SIGKILL)

    got = score_on_ray(_job(dist, ref, batch=1), out, ray_options=RayOptions(workers=2), on_chunk=kill_first)
    assert_same_rows(got, want)
    assert_same_rows(read_table(out)[0], want)
    assert len(seen) > 1, "the run ended before the kill"
    with pytest.raises(ProcessLookupError):
        os.kill(int(killed[0].rsplit(":", 1)[1]), 0)  # it really died mid-run; its chunks were scored again
    assert sorted({i for i, _ in seen}) == list(range(len(want)))  # every chunk arrived (once in the table)


def json_lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in journal_path(path).read_text().splitlines()]


class _Stop(Exception):
    pass


def test_parquet_table_of_bytes_resumes_skipping_the_chunks_done(
    ray_local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pandas as pd

    weights_dir(monkeypatch)
    pairs = _pairs()
    table = tmp_path / "images.parquet"
    pd.DataFrame(
        {"key": list(pairs), "image": [p[0] for p in pairs.values()], "ref": [p[1] for p in pairs.values()]}
    ).to_parquet(table)
    source = TableSource(table, image_column="image", ref_column="ref", key_column="key")
    names = ("ssim", "brisque")
    want = score_job(_job(source, names=names, batch=2))
    out = tmp_path / "out.csv"
    first: list[int] = []

    def stop_after_one(c: ChunkDone) -> None:
        first.append(c.index)
        raise _Stop  # the driver dies mid-run: the journal keeps one chunk

    with pytest.raises(_Stop):
        score_on_ray(_job(source, names=names, batch=2), out, on_chunk=stop_after_one)
    assert not out.exists() and len(json_lines(out)) == 1 + 2  # meta + one chunk of two
    second: list[int] = []
    opts = RayOptions(workers=1)
    got = score_on_ray(
        _job(source, names=names, batch=2),
        out,
        resume=True,
        ray_options=opts,
        on_chunk=lambda c: second.append(c.index),
    )
    assert first[0] not in second
    assert sorted(first + second) == list(range(3))  # 6 items in chunks of 2
    assert_same_rows(got, want)
    assert_same_rows(read_table(out)[0], want)
    assert got[-1]["error"] and not any(r["error"] for r in got[:-1])  # the truncated image: its row only


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from iqa.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "ray", None)  # as if Ray were not installed
    dist, ref = image_pairs(tmp_path, n=2, broken=False)
    with pytest.raises(MissingDependencyError, match=r"pip install 'iqa\[ray\]'"):
        score_on_ray(_job(dist, ref, names=("psnr",)), tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists() and not journal_path(tmp_path / "out.csv").exists()  # no work done
    r = CliRunner().invoke(cli, ["score", str(dist), "-m", "psnr", "--ref", str(ref), "--engine", "ray"])
    assert r.exit_code != 0 and "pip install 'iqa[ray]'" in (r.output + str(r.exception))
