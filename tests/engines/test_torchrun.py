"""torchrun: ``python -m torch.distributed.run --standalone --nproc-per-node 2 -m iqa score|compare``
with 2 gloo processes gives exactly what one process gives.

Expected values always come from the single-process run of the same job in this test, with one
thread as each rank has (every cell equal, NaN-aware; the same JSON values for compare), never
from constants. The sets are small
(scoring with chunks of 2 so both ranks get several chunks) and hold a corrupt image, whose row
must fail on both paths. Each torchrun call costs two interpreter starts (~10 s on 2 cores), so
the module makes three: score to stdout, score resumed into a file, compare.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.api.distributed import Ranks, leftover_parts, part_path, rank_device, torchrun_ranks
from iqa.api.jobs import ScoreJob
from iqa.api.results import ResultStore, journal_path, read_table
from iqa.api.settings import RunSettings
from iqa.cli.main import cli
from iqa.errors import InputError
from iqa.io.sources import FolderSource
from tests.conftest import shared_path
from tests.engines import assert_same_rows

ROOT = Path(__file__).resolve().parents[2]
METRICS = ["psnr", "ssim", "niqe"]  # FR and NR; niqe's pristine model is in ../shared/weights
SCORE_ARGS = [x for m in METRICS for x in ("-m", m)] + ["--batch-size", "2", "-q"]


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Distorted images and their references: two sizes, one distorted file corrupt."""
    root = tmp_path_factory.mktemp("torchrun")
    dist, ref = root / "d", root / "r"
    dist.mkdir()
    ref.mkdir()
    rng = np.random.default_rng(0)
    for i in range(9):
        h, w = (192, 200) if i % 3 else (200, 192)  # niqe needs 192x192
        r = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        d = np.clip(r.astype(int) + rng.integers(-25, 26, (h, w, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(r).save(ref / f"{i:02d}.png")
        Image.fromarray(d).save(dist / f"{i:02d}.png")
    (dist / "04.png").write_bytes(b"not a png")
    return dist, ref


@pytest.fixture
def weights_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The environment of both runs: offline, ../shared weights, one thread per rank."""
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(shared_path("weights")))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT))
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(k, None)
    return env


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """The single-process runs use one thread, as each rank does (OMP_NUM_THREADS=1): reductions
    split over another number of threads round differently.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def torchrun(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "iqa"]
    return subprocess.run(cmd + args, env=env, cwd=cwd, capture_output=True, text=True, timeout=180)


def test_score_to_stdout_equals_one_process(folders: tuple[Path, Path], weights_env: dict, tmp_path: Path) -> None:
    """Without -o rank 0 prints the one CSV (the other rank prints nothing); exit 1 for the corrupt file."""
    dist, ref = folders
    one = CliRunner().invoke(cli, ["score", str(dist), "--ref", str(ref), *SCORE_ARGS])
    assert one.exit_code == 1, one.stderr
    two = torchrun(["score", str(dist), "--ref", str(ref), *SCORE_ARGS], weights_env, tmp_path)
    assert two.returncode != 0, two.stderr  # rank 0 exits 1 (a row failed); torchrun reports it
    assert "exitcode  : 1" in two.stderr
    assert two.stdout == one.stdout  # every cell, printed once
    lines = one.stdout.splitlines()
    assert len(lines) == 10 and lines[0] == "file,ref,psnr,ssim,niqe,error"
    assert "not an image" in lines[5] and all(line.split(",")[4] not in ("", "nan") for line in lines[1:5])


def test_score_resumes_parts_of_any_world_size(folders: tuple[Path, Path], weights_env: dict, tmp_path: Path) -> None:
    """--resume into one output takes the rows a killed 3-rank run journaled (kept, not rescored),
    scores the rest on 2 ranks, writes one table equal to one process elsewhere, removes the parts.
    """
    dist, ref = folders
    one = tmp_path / "one.csv"
    res = CliRunner().invoke(cli, ["score", str(dist), "--ref", str(ref), *SCORE_ARGS, "-o", str(one)])
    assert res.exit_code == 1, res.output
    want, _ = read_table(one)
    out = tmp_path / "two.csv"
    job = ScoreJob(root=FolderSource(dist, ref), metrics={m: iqa.create(m) for m in METRICS},
                   settings=RunSettings(batch_size=2))  # fmt: skip
    marked = dict(want[1], psnr=123.0)  # a value no run computes: proves the row was kept
    with ResultStore(part_path(out, 2, 3), job.columns, job.meta()) as part:
        part.append([marked])
    assert leftover_parts(out) == [part_path(out, 2, 3)]
    two = torchrun(["score", str(dist), "--ref", str(ref), *SCORE_ARGS, "-o", str(out), "--resume"], weights_env,
                   tmp_path)  # fmt: skip
    assert "exitcode  : 1" in two.stderr, two.stderr
    got, columns = read_table(out)
    assert columns == ["file", "ref", *METRICS, "error"]
    assert_same_rows(got, [marked if r["file"] == marked["file"] else r for r in want])
    assert not leftover_parts(out) and not journal_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.csv", "two.csv"]


def test_compare_equals_one_process(weights_env: dict, tmp_path: Path) -> None:
    """Each rank extracts its chunks of both sides; rank 0's result equals one process's."""
    rng = np.random.default_rng(1)
    for side, n in (("a", 7), ("b", 8)):
        (tmp_path / side).mkdir()
        for i in range(n):
            arr = (rng.random((40, 48, 3)) * (200 if side == "a" else 255)).astype(np.uint8)
            Image.fromarray(arr).save(tmp_path / side / f"{i}.png")
    (tmp_path / "b" / "3.png").write_bytes(b"not a png")
    pixel = {"fd_efficientnet_lite0": {"extractor": "pixel_stats"}}  # no network, cheap, reachable from the CLI
    want = iqa.compare(tmp_path / "a", tmp_path / "b", list(pixel), options=pixel, batch_size=2, cache_dir=None)
    args = ["compare", "a", "b", "-m", "fd_efficientnet_lite0", "--opt", "fd_efficientnet_lite0.extractor=pixel_stats",
            "--batch-size", "2", "--no-cache", "-q", "-o", "r.json"]  # fmt: skip
    two = torchrun(args, weights_env, tmp_path)
    got = json.loads((tmp_path / "r.json").read_text())
    for k in ("fd_efficientnet_lite0", "n_a", "n_b"):
        assert got[k] == want[k], (k, two.stderr)
    assert got["n_b"] == 7 and len(got["failed"]) == 1 and "3.png" in got["failed"][0]
    assert two.stdout.count('"n_a"') == 1  # printed by rank 0 only


def test_torchrun_environment_and_refusals() -> None:
    assert torchrun_ranks({}) is None and torchrun_ranks({"WORLD_SIZE": "1", "RANK": "0"}) is None
    env = {"WORLD_SIZE": "4", "RANK": "2", "LOCAL_RANK": "1"}
    ranks = torchrun_ranks(env)
    assert ranks == Ranks(2, 4, 1) and not ranks.leader and ranks.mine(11) == [2, 6, 10]
    with pytest.raises(InputError, match="--shard 1/2 with torchrun"):
        torchrun_ranks(env, shard="1/2")
    with pytest.raises(InputError, match="--engine ray with torchrun"):
        torchrun_ranks(env, engine="ray")
    with pytest.raises(InputError, match="RANK="):
        torchrun_ranks({"WORLD_SIZE": "2", "RANK": "x"})
    assert rank_device(ranks, "cuda") == "cuda:1" and rank_device(ranks, "cpu") == "cpu"
    with pytest.raises(InputError, match="--device cuda and each rank takes cuda:LOCAL_RANK"):
        rank_device(ranks, "cuda:1")


def test_cli_refuses_shard_under_torchrun(folders: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    res = CliRunner().invoke(cli, ["score", str(folders[0]), "-m", "psnr", "--ref", str(folders[1]), "--shard", "1/2",
                                   "-o", "x.csv"])  # fmt: skip
    assert res.exit_code == 2 and "torchrun already splits the job" in res.output
