"""End to end on tiny folders: ``iqa attack compression`` and ``iqa robustness`` (files, resume,
per-file failures, the transfer table's arithmetic, the reports)."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from iqa.attacks.compression_hack import HackConfig
from iqa.attacks.compression_run import run_compression_hack
from iqa.attacks.robustness_run import run_robustness
from iqa.cli.main import cli
from iqa.errors import InputError
from iqa.evaluation.gains import summarize_compression
from iqa.evaluation.robustness import robustness_table
from iqa.pipelines import compression_attack_report, robustness_report
from iqa.reports.compression_report import write_compression_report
from iqa.reports.robustness_report import write_robustness_report

CFG = HackConfig(metric="ssim", quality=40, crop=32, batch=2, steps=3, lr=1e-3, val_every=2, val_crops=2)


def _folder(path, n: int = 3, size: int = 64):  # noqa: ANN001, ANN202
    path.mkdir()
    rng = np.random.default_rng(len(str(path)))
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        base = np.stack([np.sin(6 * xx + i), np.cos(5 * yy - i), xx * yy], -1) * 0.4 + 0.5
        img = np.clip(base + 0.05 * rng.standard_normal(base.shape), 0, 1)
        Image.fromarray((img * 255).astype(np.uint8)).save(path / f"im{i}.png")
    return path


def test_compression_run_writes_everything_and_resumes(tmp_path) -> None:  # noqa: ANN001
    train, test = _folder(tmp_path / "train"), _folder(tmp_path / "test", n=2)
    (test / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    run = run_compression_hack(train, test, out, CFG, metrics=["psnr", "ssim"])
    assert (
        [r["image"] for r in run.rows] == ["im0.png", "im1.png"]
        and len(run.failed) == 1
        and run.failed[0].count("broken.png") == 1
    )
    for name in (
        "checkpoint.pt",
        "preprocessor.pt",
        "settings.json",
        "per_image.csv",
        "jpeg/im0.plain.jpg",
        "jpeg/im1.hacked.jpg",
    ):
        assert (out / name).exists(), name
    r0 = run.rows[0]
    assert r0["bpp_hacked"] > 0 and math.isfinite(r0["ssim_plain"]) and math.isfinite(r0["psnr_hacked"])
    with pytest.raises(InputError, match="--resume"):
        run_compression_hack(train, test, out, CFG, metrics=["psnr", "ssim"])
    # a run killed after the first test image: only the second is evaluated again, identically
    rows = list(csv.DictReader((out / "per_image.csv").open()))
    with (out / "per_image.csv").open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerow(rows[0])
    again = run_compression_hack(train, test, out, CFG, metrics=["psnr", "ssim"], resume=True)
    assert [r["image"] for r in again.rows] == ["im0.png", "im1.png"]
    assert again.rows[1]["ssim_hacked"] == pytest.approx(run.rows[1]["ssim_hacked"], abs=1e-12)
    summary = summarize_compression(again.rows, again.higher_is_better, CFG.metric)
    paths = write_compression_report(again, summary, test, command="iqa attack compression ...")
    page = paths["html"].read_text()
    assert "data:image/png;base64" in page and "Left to right: original, plain JPEG, hacked JPEG" in page
    assert (out / "transfer.md").read_text().count("\n") == 2 + 2  # header, rule, psnr, ssim


def test_robustness_run_report_and_resume(tmp_path) -> None:  # noqa: ANN001
    images = _folder(tmp_path / "imgs", n=3)
    hack = tmp_path / "hack"
    run_compression_hack(images, images, hack, CFG, metrics=["psnr"])
    out = tmp_path / "rob"
    run = run_robustness(images, out, quality=40, attacks=("fgsm", f"hack:{hack}"), metrics=["psnr", "ssim"])
    assert len(run.rows) == 3 * 2 * 2  # images x attacks x metrics
    table = robustness_table(run.rows, run.attacks, run.higher_is_better)
    assert {(t["attack"], t["metric"]) for t in table} == {
        (a, m) for a in ("fgsm", f"hack:{hack}") for m in ("psnr", "ssim")
    }
    assert all(math.isfinite(t["robustness"]) for t in table)
    paths = write_robustness_report(run, table)
    assert "robustness" in paths["md"].read_text() and "base64" in paths["html"].read_text()
    again = run_robustness(
        images, out, quality=40, attacks=("fgsm", f"hack:{hack}"), metrics=["psnr", "ssim"], resume=True
    )
    assert again.rows == run.rows  # nothing recomputed, nothing lost
    with pytest.raises(InputError, match="unknown attack"):
        run_robustness(images, tmp_path / "x", attacks=("pgd",))
    with pytest.raises(InputError, match="preprocessor.pt"):
        run_robustness(images, tmp_path / "y", attacks=(f"hack:{tmp_path}",))


def test_cli_commands(tmp_path) -> None:  # noqa: ANN001
    images = _folder(tmp_path / "imgs", n=2)
    out = tmp_path / "hack"
    r = CliRunner().invoke(cli, ["attack", "compression", "--metric", "psnr", "--quality", "40", "--train", str(images), "--test",
                                 str(images), "--out", str(out), "--steps", "2", "--crop", "32", "--batch", "2",
                                 "--val-every", "1", "--metrics", "psnr,ssim", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "* psnr" in r.output and "bitrate:" in r.output and (out / "report.html").exists()
    r = CliRunner().invoke(cli, ["robustness", str(images), "--out", str(tmp_path / "rob"), "--quality", "40", "--attack", "ifgsm",
                                 "--attack", f"hack:{out}", "--metrics", "psnr", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "ifgsm" in r.output and (tmp_path / "rob" / "robustness.csv").exists()
    r = CliRunner().invoke(cli, ["attack", "compression", "--metric", "mad", "--train", str(images), "--test", str(images),
                                 "--out", str(tmp_path / "m"), "-q"])  # fmt: skip
    assert r.exit_code == 2 and "differentiable full-reference" in r.output


def test_a_non_differentiable_or_no_reference_target_is_refused(tmp_path) -> None:  # noqa: ANN001
    images = _folder(tmp_path / "imgs", n=1)
    with pytest.raises(InputError, match="differentiable full-reference"):
        run_compression_hack(images, images, tmp_path / "o", HackConfig(metric="niqe"))


def test_pipelines_run_summarise_and_report(tmp_path) -> None:  # noqa: ANN001
    images = _folder(tmp_path / "imgs", n=2)
    hack = compression_attack_report(images, images, tmp_path / "hack", CFG, metrics=["psnr"], command="cmd")
    assert hack.summary.transfer[0]["metric"] == "ssim" and hack.summary.transfer[0]["target"]  # the target first
    assert hack.summary == summarize_compression(hack.run.rows, hack.run.higher_is_better, "ssim")
    assert hack.paths["html"].is_file() and "cmd" in hack.paths["html"].read_text()
    rob = robustness_report(images, tmp_path / "rob", quality=40, attacks=("fgsm",), metrics=["psnr"])
    assert rob.table == robustness_table(rob.run.rows, ["fgsm"], {"psnr": True}) and rob.paths["csv"].is_file()
