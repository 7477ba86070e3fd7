"""``iqa correlate`` and ``iqa datasets`` from the command line; the report rendered in Chromium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from iqa.cli.main import cli
from tests.conftest import BROWSER_SKIP
from tests.helpers.mos_fixtures import make_kadid, photos


@pytest.fixture(scope="module")
def kadid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kadid(tmp_path_factory.mktemp("kadid"), n_refs=3)


@pytest.fixture(scope="module")
def report(kadid: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    r = CliRunner().invoke(cli, ["correlate", "kadid10k", "--root", str(kadid), "-m", "psnr", "-m", "ssim",
                                 "--report", str(out), "--bootstrap", "100", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "psnr" in r.stdout and "srcc" in r.stdout
    return out


def test_correlate_writes_the_report(report: Path) -> None:
    assert {p.name for p in report.iterdir()} >= {
        "summary.csv",
        "scores.csv",
        "pairwise.csv",
        "report.md",
        "report.html",
        "cache",
        "figures",
    }
    assert "Command: `iqa correlate kadid10k" in (report / "report.md").read_text()


def test_correlate_errors_are_one_line(kadid: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["correlate", "kadid", "--root", str(kadid), "-m", "psnr", "--report", str(tmp_path)])
    assert r.exit_code == 2 and "Did you mean 'kadid10k'" in r.output
    r = CliRunner().invoke(
        cli,
        ["correlate", "kadid10k", "--root", str(kadid), "-m", "psnr", "--report", str(tmp_path), "--ds-opt", "bogus"],
    )
    assert r.exit_code == 2 and "KEY=VALUE" in r.output


def test_a_corrupt_image_is_reported_and_the_rest_scored(kadid: Path, tmp_path: Path) -> None:
    broken = shutil.copytree(kadid, tmp_path / "k")
    (broken / "images" / "I02_11_03.png").write_bytes(b"garbage")
    r = CliRunner().invoke(cli, ["correlate", "kadid10k", "--root", str(broken), "-m", "psnr", "--report", str(tmp_path / "r"),
                                 "--bootstrap", "0", "-q"])  # fmt: skip
    assert r.exit_code == 1 and "failed on 1 image(s)" in r.output and "I02_11_03.png" in r.output
    assert (tmp_path / "r" / "report.html").is_file() and "| psnr | 29 |" in (tmp_path / "r" / "report.md").read_text()


def test_few_records_degrade_with_notes_and_still_write_the_report(kadid: Path, tmp_path: Path) -> None:
    """Issue 20 item 6: `--limit 4` died with scipy's TypeError (5 fit parameters > 4 points)."""
    r = CliRunner().invoke(cli, ["correlate", "kadid10k", "--root", str(kadid), "-m", "psnr", "-m", "ssim",
                                 "--report", str(tmp_path), "--limit", "4", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "logistic5 fit skipped: 4 points for its 5 parameters" in r.output
    assert "no bootstrap confidence intervals" in r.output
    md = (tmp_path / "report.md").read_text()
    # The first 4 records are I01 blurred at levels 1-4: SRCC/KRCC still reported, PLCC/RMSE not.
    assert "| psnr | 4 | 1.0000 | n/a | 1.0000 | n/a | skipped (too few points for logistic5) | 0 |" in md
    assert "SRCC per level not shown: every level has fewer than 5 scored images" in md  # one image per level
    assert not list((tmp_path / "figures").glob("groups_*.png")) and "## SRCC per" not in md
    assert (tmp_path / "report.html").is_file() and (tmp_path / "summary.csv").is_file()


def test_a_synthetic_dataset_is_labelled_synthetic(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    for i, a in enumerate(photos(3), start=1):
        Image.fromarray(a).save(refs / f"p{i}.png")
    r = CliRunner().invoke(cli, ["synth", str(refs), str(tmp_path / "syn"), "-t", "1,11", "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["correlate", "kadid10k", "--root", str(tmp_path / "syn"), "-m", "psnr",
                                 "--report", str(tmp_path / "r"), "--bootstrap", "0", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    md = (tmp_path / "r" / "report.md").read_text()
    title = md.splitlines()[0]
    assert "SYNTHETIC" in title and "synthetic score" in title and "MOS" not in title
    assert "not human opinion scores" in md and "6 - distortion level" in md  # SYNTHETIC.txt quoted
    # The synthetic score is 6 - level: constant within a level, so SRCC per level is undefined.
    assert "SRCC per level not shown" in md and "## SRCC per level" not in md
    assert "## SRCC per distortion" in md  # defined groupings are kept
    page = (tmp_path / "r" / "report.html").read_text()
    assert "SYNTHETIC" in page and "MOS" not in page.split("<h2>")[0]  # nowhere in the header


def test_datasets_commands(kadid: Path, tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["datasets", "list"])
    assert r.exit_code == 0 and all(n in r.output for n in ("koniq10k", "kadid10k", "pipal", "tad66k", "csv"))
    r = CliRunner().invoke(cli, ["datasets", "info", "pipal"])
    assert "Train_Label" in r.output and "ELO" in r.output
    r = CliRunner().invoke(cli, ["datasets", "check", "kadid10k", "--root", str(kadid)])
    assert r.exit_code == 0 and "30 records" in r.output and "all files present" in r.output
    broken = shutil.copytree(kadid, tmp_path / "k")
    (broken / "images" / "I02.png").unlink()
    shutil.copy(broken / "images" / "I01.png", broken / "images" / "I01 copy.png")
    r = CliRunner().invoke(cli, ["datasets", "check", "kadid10k", "--root", str(broken)])
    assert r.exit_code == 1 and "missing: 1 files" in r.output
    assert "1 image file(s) beside the dataset's that no label names, e.g. images/I01 copy.png" in r.output


def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        msg = f"{BROWSER_SKIP} (Debian package chromium); .ci/run installs it"
        if os.environ.get("IQA_REQUIRE_BROWSER") == "1":
            pytest.fail(msg)
        pytest.skip(msg)
    return exe


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}", "--hide-scrollbars",
             "--window-size=1300,1800", f"--screenshot={shot}"]  # fmt: skip
    subprocess.run(
        [_chromium(), *flags, (report / "report.html").as_uri()], capture_output=True, timeout=120, check=False
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    px = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    blue = (np.abs(px - [31, 119, 180]).sum(-1) < 40).sum()  # matplotlib's first colour: points and bars
    orange = (np.abs(px - [255, 127, 14]).sum(-1) < 40).sum()
    assert blue > 500 and orange > 500, f"plots not visible in the screenshot ({blue} blue, {orange} orange pixels)"
