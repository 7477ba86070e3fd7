"""Fault battery: each fault done to iqa for real, in one place (the table is docs/reliability.md).

Hostile image files, ``kill -9`` in the middle of a run then ``--resume``, two writers of one
output, an incomplete shard set, label files whose paths leave the dataset root, and pickles that
carry code. Where a case also has a unit test elsewhere, this module still does the fault itself,
end to end where a user would meet it (the CLI, a second process, a real signal).

The two subprocess cases run the real ``iqa`` CLI with one addition: after each journaled chunk it
waits for a gate file, so the test knows the run is in the middle (a kill or a second writer lands
mid-run on every machine, however fast) and releases it when the case is done.
"""

from __future__ import annotations

import os
import pickle
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from iqa.api.results import journal_path, merge_tables, read_table
from iqa.cli.main import cli
from iqa.errors import DatasetError, InputError, WeightsError
from iqa.io.locks import lock_path

N_GOOD = 12
HOSTILE = {  # file -> what its error must say
    "truncated.png": "truncated",
    "notes.png": "not an image",
    "empty.png": "not an image",
    "bomb.png": "megapixels",
}

# The real CLI, held after each journaled chunk until the file named by IQA_TEST_GATE exists.
GATED_CLI = """
import os, sys, time
from iqa.api import results
gate = os.environ["IQA_TEST_GATE"]
append = results.ResultStore.append
def gated(self, rows):
    append(self, rows)  # journaled and flushed exactly as in a normal run
    deadline = time.monotonic() + 60
    while not os.path.exists(gate) and time.monotonic() < deadline:
        time.sleep(0.01)
results.ResultStore.append = gated
from iqa.cli.main import main
main()
"""


def _pairs(root: Path, n: int, seed: int) -> tuple[Path, Path]:
    """n reference textures (48x64 RGB) and noisy copies, PNG, in dist/ and ref/."""
    dist, ref = root / "dist", root / "ref"
    dist.mkdir(parents=True)
    ref.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(n):
        clean = rng.integers(0, 256, (48, 64, 3)).astype(np.float64)
        noisy = np.clip(clean + rng.normal(0, 3 + i, clean.shape), 0, 255)
        Image.fromarray(clean.astype(np.uint8)).save(ref / f"img{i}.png")
        Image.fromarray(noisy.astype(np.uint8)).save(dist / f"img{i}.png")
    return dist, ref


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _pairs(tmp_path_factory.mktemp("clean"), N_GOOD, seed=0)


def _score(dist: Path, ref: Path, out: Path, *extra: str, metrics: tuple[str, ...] = ("psnr", "ssim")) -> list[str]:
    args = ["score", str(dist), "--ref", str(ref), "-o", str(out), "--batch-size", "2", "-q", *extra]
    for m in metrics:
        args += ["-m", m]
    return args


def _gated(args: list[str], gate: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IQA_TEST_GATE": str(gate)}
    return subprocess.Popen(
        [sys.executable, "-c", GATED_CLI, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


def _journaled_rows(out: Path) -> int:
    j = journal_path(out)
    return max(0, j.read_text().count("\n") - 1) if j.exists() else 0  # minus the settings header


def _wait_for_rows(out: Path, n: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while _journaled_rows(out) < n:
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before journaling {n} rows: {proc.stderr.read().decode()}")  # type: ignore[union-attr]
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the run journaled nothing within 120 s")
        time.sleep(0.01)


def _invoke(args: list[str]):  # noqa: ANN202
    return CliRunner().invoke(cli, args)


# 1. Hostile files ---------------------------------------------------------------------------


def test_hostile_files_fail_alone_and_the_run_goes_on(tmp_path: Path) -> None:
    dist, ref = _pairs(tmp_path, 3, seed=1)
    good = (dist / "img0.png").read_bytes()
    (dist / "truncated.png").write_bytes(good[: len(good) // 2])
    (dist / "notes.png").write_text("a text file named like an image")
    (dist / "empty.png").write_bytes(b"")
    Image.new("L", (10000, 10000)).save(dist / "bomb.png")  # 100 megapixels in ~100 kB
    for name in HOSTILE:
        (ref / name).write_bytes((ref / "img0.png").read_bytes())
    out = tmp_path / "scores.csv"
    r = _invoke(_score(dist, ref, out, metrics=("psnr",)))
    assert r.exit_code == 1, r.output  # failures are reported by the exit status, not hidden
    rows = {row["file"]: row for row in read_table(out)[0]}
    assert len(rows) == 3 + len(HOSTILE)
    for name, reason in HOSTILE.items():
        assert rows[name]["error"].startswith(f"{dist / name}: ") and reason in rows[name]["error"], rows[name]
        assert np.isnan(rows[name]["psnr"])
    assert "--max-pixels" in rows["bomb.png"]["error"]  # the override is named
    assert all(rows[f"img{i}.png"]["error"] == "" and np.isfinite(rows[f"img{i}.png"]["psnr"]) for i in range(3))
    assert "4 failed" in r.output


# 2. kill -9 mid-run, then --resume ------------------------------------------------------------


def test_kill_9_mid_run_then_resume_completes_without_duplicates(clean: tuple[Path, Path], tmp_path: Path) -> None:
    dist, ref = clean
    full = tmp_path / "full.csv"
    assert _invoke(_score(dist, ref, full)).exit_code == 0  # the uninterrupted run, for comparison
    out = tmp_path / "resumed.csv"
    proc = _gated(_score(dist, ref, out), tmp_path / "never")  # held after its first chunk until killed
    _wait_for_rows(out, 2, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    journaled = _journaled_rows(out)
    assert journaled == 2 and not out.exists()  # killed in the middle: one chunk journaled, no final file
    assert lock_path(out).exists()  # kill -9 runs no clean-up; the kernel dropped the lock itself

    p = subprocess.run([sys.executable, "-m", "iqa.cli.main", *_score(dist, ref, out, "--resume")],
                       capture_output=True, text=True, timeout=300)  # fmt: skip
    assert p.returncode == 0, p.stderr
    assert f"pid {proc.pid}" in p.stderr and "took over the lock" in p.stderr  # the note names the dead run
    rows, _ = read_table(out)
    files = [r["file"] for r in rows]
    assert files == [f"img{i}.png" for i in range(N_GOOD)]  # complete, natural order, no duplicate
    assert out.read_bytes() == full.read_bytes()  # the same numbers as a run never interrupted
    assert not journal_path(out).exists() and not lock_path(out).exists()


# 3. Two writers, one output -------------------------------------------------------------------


def test_a_second_writer_of_one_output_fails_at_once(clean: tuple[Path, Path], tmp_path: Path) -> None:
    dist, ref = clean
    out, gate = tmp_path / "same.csv", tmp_path / "go"
    first = _gated(_score(dist, ref, out, metrics=("psnr",)), gate)
    try:
        _wait_for_rows(out, 2, first)
        # The case that lost columns before: another metric into the same file, with --overwrite.
        t0 = time.monotonic()
        second = _invoke(_score(dist, ref, out, "--overwrite", metrics=("ssim",)))
        assert second.exit_code == 2, second.output
        assert f"{out} is being written by another run (pid {first.pid} on {socket.gethostname()}" in second.output
        assert "started" in second.output and time.monotonic() - t0 < 30
        assert first.poll() is None  # the first run is untouched and still running
    finally:
        gate.touch()
    assert first.wait(timeout=120) == 0, first.stderr.read().decode()  # type: ignore[union-attr]
    rows, cols = read_table(out)
    assert cols == ["file", "ref", "psnr", "error"] and len(rows) == N_GOOD  # nothing lost
    again = _invoke(_score(dist, ref, out, "--overwrite", metrics=("ssim",)))
    assert again.exit_code == 0, again.output  # once the first run is done, the output is free
    assert read_table(out)[1] == ["file", "ref", "ssim", "error"]


# 4. Incomplete shard set ----------------------------------------------------------------------


def test_merge_refuses_an_incomplete_shard_set(clean: tuple[Path, Path], tmp_path: Path) -> None:
    dist, ref = clean
    parts = {k: tmp_path / f"part{k}.csv" for k in (1, 2, 3)}
    for k in (1, 3):  # shard 2/3 never ran
        assert _invoke(_score(dist, ref, parts[k], "--shard", f"{k}/3")).exit_code == 0
    merged = tmp_path / "merged.csv"
    r = _invoke(["merge", str(parts[1]), str(parts[3]), "-o", str(merged)])
    assert r.exit_code == 2 and "shard(s) 2/3 missing" in r.output and "--allow-partial" in r.output
    assert not merged.exists()
    with pytest.warns(UserWarning, match="2/3 missing"):
        partial = merge_tables([parts[1], parts[3]], merged, allow_partial=True)
    assert len(partial) == N_GOOD - N_GOOD // 3  # shards 1 and 3 only, and said so
    merged.unlink()
    r = _invoke(["merge", str(parts[1]), str(parts[3]), "-o", str(merged), "--allow-partial"])
    assert r.exit_code == 0 and len(read_table(merged)[0]) == len(partial), r.output  # the CLI's override
    assert _invoke(_score(dist, ref, parts[2], "--shard", "2/3")).exit_code == 0
    r = _invoke(["merge", *map(str, parts.values()), "-o", str(merged)])
    assert r.exit_code == 0, r.output
    whole = tmp_path / "whole.csv"
    assert _invoke(_score(dist, ref, whole)).exit_code == 0
    assert merged.read_bytes() == whole.read_bytes()
    again = tmp_path / "again" / "part1.csv"  # the same shard from another copy of the run
    again.parent.mkdir()
    for src in (parts[1], parts[1].with_name("part1.csv.shard")):
        (again.parent / src.name).write_bytes(src.read_bytes())
    with pytest.raises(InputError, match="shard 1/3 given twice"):
        merge_tables([*parts.values(), again], merged)


# 5. Path traversal ----------------------------------------------------------------------------


def test_label_paths_that_leave_the_dataset_root_are_refused(tmp_path: Path) -> None:
    from iqa.datasets.generic import load_csv_dataset

    root = tmp_path / "data"
    root.mkdir()
    Image.new("RGB", (8, 8)).save(tmp_path / "outside.png")  # a real file the labels try to reach
    evil = ["../outside.png", "/etc/passwd", "C:/Windows/win.ini", "..\\outside.png", "a/../../outside.png"]
    labels = root / "labels.csv"
    labels.write_text("image,mos\nfine.png,3\n" + "".join(f"{p},3\n" for p in evil))
    with pytest.raises(DatasetError) as e:
        load_csv_dataset(labels)
    msg = str(e.value)
    assert msg.count("leaves the dataset root") == len(evil)  # every line named, none accepted
    for line in range(3, 3 + len(evil)):
        assert f"line {line}" in msg


# 6. Pickles that carry code -------------------------------------------------------------------


class _Payload:
    """Unpickling this runs os.mkdir(marker): the proof that code in a file ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):  # noqa: ANN204
        return (os.mkdir, (self.marker,))


def test_pickles_carrying_code_are_refused_and_never_run(tmp_path: Path) -> None:
    from iqa.io.checkpoints import load_checkpoint
    from iqa.weights.sklearn_pickle import read_sklearn_ridge
    from iqa.weights.store import import_file, load_torch_state

    marker = tmp_path / "code_ran"
    ridge = tmp_path / "Koniq.save"  # a CONTRIQUE regressor file
    ridge.write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(WeightsError, match="refused global posix.mkdir"):
        read_sklearn_ridge(ridge)
    ckpt = tmp_path / "checkpoint.pt"  # a training checkpoint
    torch.save({"key": {}, "model": _Payload(marker)}, ckpt)
    with pytest.raises(InputError, match="checkpoint.pt: not a readable checkpoint"):
        load_checkpoint(ckpt, {}, resume=True)
    weights = tmp_path / "alex.pth"  # a legacy weights file
    torch.save({"w": _Payload(marker)}, weights)
    with pytest.raises(WeightsError, match="alex.pth: not a readable PyTorch checkpoint") as refused:
        load_torch_state(weights)
    assert isinstance(refused.value.__cause__, pickle.UnpicklingError)  # weights_only refused the code
    with pytest.raises(WeightsError, match="does not match"):
        import_file(weights)  # `iqa weights import`: an unknown file is refused by its hash, unread
    assert not marker.exists()
