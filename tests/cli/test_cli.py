"""CLI end to end: registry commands, folder scoring with bad files, kill -9 and resume, shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from iqa.cli.main import cli

N_GOOD = 200
BAD = ("truncated.png", "notes.png", "empty.jpg", "orphan.png", "wrongsize.png")


@pytest.fixture(scope="session")
def folders(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """200 mixed-size pairs cut from scikit-image's photos, plus 5 files that must fail."""
    import skimage

    root = tmp_path_factory.mktemp("cli")
    dist, ref = root / "dist", root / "ref"
    dist.mkdir()
    ref.mkdir()
    data = Path(skimage.__file__).parent / "data"
    photos = [np.asarray(Image.open(data / n).convert("RGB")) for n in ("astronaut.png", "coffee.png", "chelsea.png")]
    rng = np.random.default_rng(0)
    for i in range(N_GOOD):
        src = photos[i % 3]
        h, w = int(rng.integers(180, 290)), int(rng.integers(180, 440))
        y, x = int(rng.integers(0, src.shape[0] - h)), int(rng.integers(0, src.shape[1] - w))
        crop = src[y : y + h, x : x + w]
        noisy = np.clip(crop + rng.normal(0, 4 + i % 20, crop.shape), 0, 255).astype(np.uint8)
        Image.fromarray(crop).save(ref / f"img{i}.png")
        Image.fromarray(noisy).save(dist / f"img{i}.png")
    good = (dist / "img0.png").read_bytes()
    (dist / "truncated.png").write_bytes(good[: len(good) // 2])
    (ref / "truncated.png").write_bytes((ref / "img0.png").read_bytes())
    (dist / "notes.png").write_text("not an image")
    (ref / "notes.png").write_bytes((ref / "img0.png").read_bytes())
    (dist / "empty.jpg").write_bytes(b"")
    (ref / "empty.png").write_bytes((ref / "img0.png").read_bytes())
    Image.fromarray(photos[0][:200, :200]).save(dist / "orphan.png")
    Image.fromarray(photos[0][:200, :200]).save(dist / "wrongsize.png")
    Image.fromarray(photos[0][:210, :200]).save(ref / "wrongsize.png")
    return dist, ref


def iqa_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "iqa.cli.main", *args]


def score_args(dist: Path, ref: Path, out: Path, *extra: str) -> list[str]:
    return iqa_cmd(
        "score",
        str(dist),
        "--ref",
        str(ref),
        "-m",
        "psnr",
        "-m",
        "ssim",
        "-m",
        "ms_ssim",
        "-o",
        str(out),
        "--batch-size",
        "4",
        "-q",
        *extra,
    )


def test_list_and_info() -> None:
    r = CliRunner().invoke(cli, ["list", "--json"])
    assert r.exit_code == 0
    names = [m["name"] for m in json.loads(r.output)]
    assert {"psnr", "psnr_y", "ssim", "ssim_rgb", "ms_ssim"} <= set(names)
    r = CliRunner().invoke(cli, ["info", "ssim", "--json"])
    info = json.loads(r.output)
    assert info["color"] == "y" and "downsample" in {o["name"] for o in info["options"]}  # one row per option
    r = CliRunner().invoke(cli, ["info", "ssmi"])
    assert r.exit_code == 2 and "Did you mean: ssim" in r.output


@pytest.mark.slow
def test_score_records_failures_and_exits_nonzero(folders, tmp_path: Path) -> None:  # noqa: ANN001
    dist, ref = folders
    out = tmp_path / "scores.csv"
    p = subprocess.run(score_args(dist, ref, out), capture_output=True, text=True)
    assert p.returncode == 1, p.stderr
    import pandas as pd

    df = pd.read_csv(out, keep_default_na=False)
    assert len(df) == N_GOOD + len(BAD)
    failed = df[df.error != ""]
    assert sorted(failed.file) == sorted(BAD)
    reasons = dict(zip(failed.file, failed.error))
    assert "truncated" in reasons["truncated.png"] or "corrupt" in reasons["truncated.png"]
    assert "not an image" in reasons["notes.png"]
    assert "empty.jpg: not an image" in reasons["empty.jpg"]  # paired with ref/empty.png by stem
    assert "no reference file named orphan" in reasons["orphan.png"]
    assert "differs from reference" in reasons["wrongsize.png"]
    good = df[df.error == ""]
    assert good[["psnr", "ssim", "ms_ssim"]].astype(float).notna().all().all()
    assert "5 failed" in p.stderr and "notes.png" in p.stderr
    assert list(df.file[:3]) == ["empty.jpg", "img0.png", "img1.png"]  # natural order


@pytest.mark.slow
def test_kill_and_resume_gives_identical_output(folders, tmp_path: Path) -> None:  # noqa: ANN001
    dist, ref = folders
    full = tmp_path / "full.csv"
    subprocess.run(score_args(dist, ref, full), capture_output=True)
    out = tmp_path / "resumed.csv"
    journal = out.with_name(out.name + ".partial.jsonl")
    proc = subprocess.Popen(score_args(dist, ref, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_text().count("\n") >= 40:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = journal.read_text().count("\n") - 1
    assert not out.exists() and 0 < lines < N_GOOD, f"kill landed at {lines} rows; the test needs a mid-run kill"
    p = subprocess.run(score_args(dist, ref, out, "--resume"), capture_output=True, text=True)
    assert p.returncode == 1  # the bad files still fail
    assert out.read_bytes() == full.read_bytes()  # no row lost, none duplicated, same numbers


@pytest.mark.slow
def test_shards_merge_to_the_full_table(folders, tmp_path: Path) -> None:  # noqa: ANN001
    dist, ref = folders
    full = tmp_path / "full.csv"
    subprocess.run(score_args(dist, ref, full), capture_output=True)
    parts = []
    for k in (1, 2, 3):
        part = tmp_path / f"part{k}.json"
        subprocess.run(score_args(dist, ref, part, "--shard", f"{k}/3"), capture_output=True)
        parts.append(str(part))
    merged = tmp_path / "merged.csv"
    p = subprocess.run(iqa_cmd("merge", *parts, "-o", str(merged)), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert merged.read_bytes() == full.read_bytes()


def test_output_exists_needs_a_flag(folders, tmp_path: Path) -> None:  # noqa: ANN001
    dist, ref = folders
    out = tmp_path / "o.csv"
    out.write_text("file,ref,psnr,error\n")
    r = CliRunner().invoke(cli, ["score", str(dist), "--ref", str(ref), "-m", "psnr", "-o", str(out)])
    assert r.exit_code == 2 and "--resume" in r.output and "--overwrite" in r.output


def test_usage_errors_are_one_line(folders) -> None:  # noqa: ANN001
    dist, ref = folders
    r = CliRunner().invoke(cli, ["score", str(dist), "-m", "ssim"])
    assert r.exit_code == 2 and "--ref" in r.output
    r = CliRunner().invoke(cli, ["score", str(dist), "--ref", str(ref), "-m", "ssim", "--opt", "ssim.sigm=2"])
    assert r.exit_code == 2 and "did you mean 'sigma'" in r.output
    r = CliRunner().invoke(cli, ["score", str(dist), "--ref", str(ref), "-m", "psnr", "--shard", "3/2", "-o", "x.csv"])
    assert r.exit_code == 2 and "K <= N" in r.output


def test_metric_options_and_stdout(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    Image.fromarray(np.full((40, 40, 3), 100, np.uint8)).save(d / "a.png")
    r = CliRunner().invoke(
        cli, ["score", str(d), "--ref", str(d), "-m", "psnr_y", "--opt", "psnr_y.crop_border=4", "-q"]
    )
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0] == "file,ref,psnr_y,error" and ",inf," in r.output


def test_weights_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.conftest import shared_path

    weights = shared_path("weights")
    r = CliRunner().invoke(cli, ["weights", "list", "--json"])
    rows = {x["id"]: x["status"] for x in json.loads(r.output)}
    assert r.exit_code == 0 and rows.pop("efficientnet_lite0") == "ok"  # packaged with a dependency
    assert all(status == "missing" for status in rows.values()), rows
    r = CliRunner().invoke(cli, ["weights", "import", str(weights / "lpips" / "alex.pth")])
    assert r.exit_code == 0 and "lpips_alex_v0.1" in r.output
    r = CliRunner().invoke(cli, ["weights", "verify"])
    assert r.exit_code == 0 and "lpips_alex_v0.1" in r.output and "ok" in r.output
    r = CliRunner().invoke(cli, ["weights", "fetch", "niqe_pris_params"])  # offline in tests
    assert r.exit_code != 0


@pytest.mark.slow
def test_demo_runs_on_bundled_images() -> None:
    p = subprocess.run(iqa_cmd("demo"), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "jpeg_q5" in p.stdout and "ms_ssim" in p.stdout
