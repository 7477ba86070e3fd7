"""The generative panel end to end on real photos, offline, and ``iqa stats`` (issue 23).

Set14 (14 images) is the reference and McMaster (18) the "generated" set, both from ../shared;
EfficientNet-Lite0 is the one ImageNet network with real weights offline. Expected values come from
the same computation through another route (statistics file vs folder, Python vs CLI), to 1e-9
relative; the k-NN metrics are checked against the definitions in tests/stats/test_knn.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import iqa
from iqa.cli.main import cli
from tests.conftest import shared_path

PANEL = ["fd_efficientnet_lite0", "precision_efficientnet_lite0", "density_efficientnet_lite0",
         "vendi_efficientnet_lite0"]  # fmt: skip


@pytest.fixture(scope="module")
def sets() -> tuple[Path, Path]:
    return shared_path("data", "images", "Set14"), shared_path("data", "images", "McMaster")


@pytest.mark.filterwarnings("ignore:.*covariance has rank")  # 14 and 18 images for 1280-d features
def test_panel_runs_offline_and_matches_python(sets: tuple[Path, Path], tmp_path: Path) -> None:
    real, fake = sets
    args = ["compare", str(real), str(fake), "-o", str(tmp_path / "r.json"), "--cache-dir", str(tmp_path / "c")]
    r = CliRunner().invoke(cli, args + [a for m in PANEL for a in ("-m", m)])
    assert r.exit_code == 0, r.output
    got = json.loads((tmp_path / "r.json").read_text())
    assert (got["n_a"], got["n_b"]) == (14, 18) and got["failed"] == []
    assert 0 <= got["precision_efficientnet_lite0"] <= 1 and got["density_efficientnet_lite0"] >= 0
    assert 1 <= got["vendi_efficientnet_lite0"] <= 18 and got["fd_efficientnet_lite0"] > 0
    py = iqa.compare(real, fake, PANEL, cache_dir=tmp_path / "c")  # the cached features: same numbers
    for m in PANEL:
        assert py[m] == pytest.approx(got[m], rel=1e-9), m
    assert set(got["provenance"]["metrics"]) == set(PANEL)


@pytest.mark.filterwarnings("ignore:.*covariance has rank")
def test_stats_compute_convert_show(sets: tuple[Path, Path], tmp_path: Path) -> None:
    real, fake = sets
    run = CliRunner().invoke
    r = run(
        cli, ["stats", "compute", str(real), "-o", str(tmp_path / "s.npz"), "--extractor", "efficientnet_lite0", "-q"]
    )
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["n"] == 14
    cache = tmp_path / "c"  # the generated set's features are computed once for the comparisons below
    from_folder = iqa.compare(real, fake, ["fd_efficientnet_lite0"], cache_dir=cache)["fd_efficientnet_lite0"]
    from_stats = iqa.compare(tmp_path / "s.npz", fake, ["fd_efficientnet_lite0"], cache_dir=cache)[
        "fd_efficientnet_lite0"
    ]
    assert from_stats == pytest.approx(from_folder, rel=1e-9)
    for fmt, name in (("torch_fidelity", "s.pt"), ("adm", "adm.npz"), ("cleanfid", "c.npz")):
        r = run(cli, ["stats", "convert", str(tmp_path / "s.npz"), str(tmp_path / name), "--format", fmt])
        assert r.exit_code == 0, r.output
        again = iqa.compare(tmp_path / name, fake, ["fd_efficientnet_lite0"], cache_dir=cache)["fd_efficientnet_lite0"]
        assert again == pytest.approx(from_folder, rel=1e-9), fmt
    shown = json.loads(run(cli, ["stats", "show", str(tmp_path / "adm.npz")]).output)
    # an ADM batch with pool statistics only has pytorch-fid's arrays (mu, sigma): it reads as that
    assert shown["format"] == "pytorch_fid" and "1280-d" in shown["holds"] and shown["counts"] == {"pool": None}
    r = run(cli, ["stats", "convert", str(tmp_path / "s.npz"), str(tmp_path / "k.npz"), "--format", "cleanfid_kid"])
    assert r.exit_code == 2 and "holds features" in r.output  # statistics cannot become features
