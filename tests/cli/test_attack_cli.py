"""``iqa attack fid-resample``: folders in, report out (EfficientNet-Lite0 + pixel statistics)."""

from __future__ import annotations

import json
import shutil

import pandas as pd
from click.testing import CliRunner

from iqa.cli.main import cli
from tests.conftest import shared_path


def test_fid_resample_writes_a_report(tmp_path) -> None:
    pool, ref = tmp_path / "pool", tmp_path / "ref"
    shutil.copytree(shared_path("data", "images", "Set14"), pool)
    for name in ("baboon.bmp", "barbara.bmp"):  # a second copy under another name, so the pool is larger
        shutil.copy(pool / name, pool / f"copy_{name}")
    shutil.copytree(shared_path("data", "images", "Set5"), ref)
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "attack",
            "fid-resample",
            str(pool),
            str(ref),
            "--out",
            str(out),
            "--iterations",
            "6",
            "--eval-every",
            "3",
            "--repeats",
            "2",
            "--no-cache",
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "fd_pixel_stats" in res.output and "report:" in res.output
    result = json.loads((out / "result.json").read_text())
    assert set(result["before"]) == {"fd", "fd_pixel_stats"}
    assert result["settings"]["ridge"] == 1e-4  # 5 reference images < 1280 dims: singular, so a ridge, recorded
    assert result["top1_selection"]["selected"] > 0 and 0 <= result["top1_overlap"]["after"] <= 1
    w = pd.read_csv(out / "weights.csv")
    assert len(w) == 16 and abs(w["probability"].sum() - 1) < 1e-9
    hist = pd.read_csv(out / "history.csv")
    assert hist["iteration"].tolist() == list(range(1, 7)) and hist["fd"].notna().sum() == 3  # iterations 1, 3, 6
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 5  # curves, two histograms, two grids
    again = CliRunner().invoke(
        cli,
        [
            "attack",
            "fid-resample",
            str(pool),
            str(ref),
            "--out",
            str(out),
            "--iterations",
            "6",
            "--eval-every",
            "3",
            "--repeats",
            "2",
            "--no-cache",
            "-q",
        ],
    )
    assert again.exit_code == 2 and "--resume" in again.output  # an earlier run's checkpoint is not overwritten
    resumed = CliRunner().invoke(
        cli,
        [
            "attack",
            "fid-resample",
            str(pool),
            str(ref),
            "--out",
            str(out),
            "--iterations",
            "6",
            "--eval-every",
            "3",
            "--repeats",
            "2",
            "--no-cache",
            "-q",
            "--resume",
        ],
    )
    assert resumed.exit_code == 0, resumed.output
    assert pd.read_csv(out / "weights.csv")["log_weight"].tolist() == w["log_weight"].tolist()


def test_fid_resample_class_mode_needs_a_classifier(tmp_path) -> None:
    d = shared_path("data", "images", "Set5")
    res = CliRunner().invoke(
        cli,
        [
            "attack",
            "fid-resample",
            str(d),
            str(d),
            "--out",
            str(tmp_path / "o"),
            "--extractor",
            "pixel_stats",
            "--check",
            "efficientnet_lite0",
            "--mode",
            "top_n",
            "--no-cache",
            "-q",
        ],
    )
    assert res.exit_code == 2 and "classifier" in res.output
