"""`iqa score` / `iqa compare` pre-flight, --keep-going and exit status (issue 20, items 1 and 3).

No weights are on this machine (conftest: empty cache, IQA_OFFLINE): lpips and dists (ImageNet
trunks) and kid (FID Inception) cannot be built; psnr, ssim and fd_efficientnet_lite0 (a packaged
network) can.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from iqa.api import job_chunks
from iqa.cli.main import cli


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Three small image pairs of seeded noise (distorted, reference)."""
    root = tmp_path_factory.mktemp("pf")
    d, r = root / "d", root / "r"
    d.mkdir()
    r.mkdir()
    g = np.random.default_rng(0)
    for i in range(3):
        a = (g.random((40, 48, 3)) * 255).astype(np.uint8)
        Image.fromarray(a).save(r / f"{i}.png")
        Image.fromarray(np.clip(a.astype(int) + 12, 0, 255).astype(np.uint8)).save(d / f"{i}.png")
    return d, r


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two folders of 4 crops of scikit-image photos (the second darkened) plus an unreadable file."""
    import skimage

    root = tmp_path_factory.mktemp("pfc")
    data = Path(skimage.__file__).parent / "data"
    a, b = root / "a", root / "b"
    a.mkdir()
    b.mkdir()
    for i, name in enumerate(["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"]):
        crop = np.asarray(Image.open(data / name).convert("RGB"))[:96, :128]
        Image.fromarray(crop).save(a / f"{i}.png")
        Image.fromarray((crop * 0.6 + 40).astype(np.uint8)).save(b / f"{i}.png")
    (b / "broken.png").write_bytes(b"not a png")
    return a, b


def _score(d: Path, r: Path, out: Path, *metrics: str, extra: tuple[str, ...] = ()) -> list[str]:
    return ["score", str(d), "--ref", str(r), *[a for m in metrics for a in ("-m", m)], "-o", str(out), "-q", *extra]


def test_score_names_every_unavailable_metric_before_any_work(pairs, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "o.csv"
    r = CliRunner().invoke(cli, _score(*pairs, out, "psnr", "ssim", "lpips", "dists"))
    assert r.exit_code == 2, r.output
    assert "lpips: cannot be built" in r.output and "torchvision_alexnet" in r.output
    assert "dists: cannot be built" in r.output and "torchvision_vgg16" in r.output  # all at once
    assert "iqa weights fetch torchvision_alexnet" in r.output and "--keep-going" in r.output
    assert not out.exists()


def test_score_keep_going_scores_the_rest_and_exits_1(pairs, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "o.csv"
    r = CliRunner().invoke(cli, _score(*pairs, out, "psnr", "lpips", "ssim", extra=("--keep-going",)))
    assert r.exit_code == 1, r.output
    assert "skipped metric lpips: cannot be built" in r.output and "skipped metrics: lpips" in r.output
    df = pd.read_csv(out, keep_default_na=False)
    assert list(df.columns) == ["file", "ref", "psnr", "ssim", "error"] and len(df) == 3
    assert (df.error == "").all() and df.psnr.astype(float).gt(0).all()


def test_score_parquet_without_pyarrow_fails_at_once(pairs, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # importing it now fails, as if not installed
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    decoded: list[Path] = []
    real = job_chunks._decode
    monkeypatch.setattr(job_chunks, "_decode", lambda j, k, r=False: decoded.append(k) or real(j, k, r))
    r = CliRunner().invoke(cli, _score(*pairs, tmp_path / "o.parquet", "psnr", "lpips"))
    assert r.exit_code == 2 and "writing .parquet needs pyarrow: pip install pyarrow" in r.output
    assert "lpips: cannot be built" in r.output  # reported together
    assert decoded == []  # before: every image scored, then an ImportError at the end


@pytest.mark.filterwarnings("ignore:fd_efficientnet_lite0 .* samples for 1280-dimensional")
def test_compare_keeps_a_finished_metric_when_another_cannot_run(sets, tmp_path: Path) -> None:  # noqa: ANN001
    a, b = sets
    out = tmp_path / "r.json"
    args = ["compare", str(a), str(b), "-m", "fd_efficientnet_lite0", "-m", "kid", "-o", str(out), "--no-cache", "-q"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "kid: cannot be built" in r.output and "fid_inception_v3_pt" in r.output
    assert not out.exists()
    r = CliRunner().invoke(cli, [*args, "--keep-going"])
    assert r.exit_code == 1, r.output  # a metric skipped (and a file failed): 1, after writing
    result = json.loads(out.read_text())
    assert result["fd_efficientnet_lite0"] > 0 and "fid_inception_v3_pt" in result["skipped"]["kid"]
    assert "skipped metric kid: cannot be built" in r.output


@pytest.mark.filterwarnings("ignore:fd_efficientnet_lite0 .* samples for 1280-dimensional")
def test_compare_exits_1_when_files_failed(sets, tmp_path: Path) -> None:  # noqa: ANN001
    a, b = sets
    out = tmp_path / "r.csv"
    args = ["compare", str(a), str(b), "-m", "fd_efficientnet_lite0", "-o", str(out), "--no-cache", "-q"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1, r.output  # before: 0
    assert "skipped:" in r.output and "broken.png" in r.output
    header, row = out.read_text().splitlines()
    values = dict(zip(header.split(","), row.split(",")))  # written all the same
    assert header.startswith("fd_efficientnet_lite0,n_a,n_b,") and (values["n_a"], values["n_b"]) == ("4", "4")
    assert values["fd_efficientnet_lite0_extractor"] == "efficientnet_lite0" and values["iqa_version"]
