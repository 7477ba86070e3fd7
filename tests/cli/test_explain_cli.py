"""``iqa explain fid``: folders in, gallery out; singular statistics and unreadable files reported."""

from __future__ import annotations

import json
import shutil

import pandas as pd
from click.testing import CliRunner

from iqa.cli.main import cli
from tests.conftest import shared_path
from tests.explain.test_fid_explain import CountingExtractor, _folder


def _folders(tmp_path):
    gen, ref = tmp_path / "gen", tmp_path / "ref"
    shutil.copytree(shared_path("data", "images", "Set5"), gen)
    shutil.copytree(shared_path("data", "images", "Set14"), ref)
    return gen, ref


def test_explain_fid_writes_a_gallery(tmp_path) -> None:
    gen, ref = _folders(tmp_path)
    (gen / "broken.png").write_bytes(b"not a png")
    out = tmp_path / "out"
    args = [
        "explain",
        "fid",
        str(gen),
        str(ref),
        "--out",
        str(out),
        "--images",
        "3",
        "--ridge",
        "1e-3",
        "--no-cache",
        "-q",
    ]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 1, res.output  # one unreadable file: reported, the rest explained
    assert "broken.png" in res.output
    table = pd.read_csv(out / "explanations.csv")
    assert len(table) == 3 and table["fid_contribution"].notna().all()
    assert table["top1_class"].str.len().gt(0).all()  # ImageNet class names, not indices
    assert len(list((out / "overlays").glob("*.png"))) == 3 and len(list((out / "maps").glob("*.npy"))) == 3
    html = (out / "gallery.html").read_text()
    assert html.count('class="card"') == 3 and "data:image/png;base64," in html
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_gen"] == 5 and summary["n_ref"] == 14 and summary["fid"] > 0
    assert (out / "class_histogram.png").stat().st_size > 1000


def test_explain_fid_without_enough_images_says_how_to_fix_it(tmp_path) -> None:
    gen, ref = _folders(tmp_path)
    res = CliRunner().invoke(
        cli, ["explain", "fid", str(gen), str(ref), "--out", str(tmp_path / "o"), "--no-cache", "-q"]
    )
    assert res.exit_code == 2
    assert "singular" in res.output and "--ridge" in res.output
    assert "14 images for efficientnet_lite0's 1280-d features" in res.output  # Set14, checked first
    assert "Checked before extracting any feature" in res.output


def test_the_default_cache_spares_the_rerun_and_a_ridge_is_labelled(tmp_path, monkeypatch) -> None:
    """Issue 20 item 10: the rerun with --ridge extracted every feature again."""
    gen, ref = _folder(tmp_path / "gen", 12, 1, gamma=1.6), _folder(tmp_path / "ref", 14, 2)
    ext = CountingExtractor()
    monkeypatch.setattr("iqa.explain.fid_explain.create_extractor", lambda name: ext)
    monkeypatch.setattr("iqa.weights.cache_dir", lambda: tmp_path / "user-cache" / "weights")  # the CLI default
    args = ["explain", "fid", str(gen), str(ref), "--extractor", "tiny", "--images", "2", "-q"]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code == 0, res.output
    assert "FID (tiny) = " in res.output and ext.seen == 12 + 14
    assert len(list((tmp_path / "user-cache" / "explain").glob("*.npz"))) == 2  # one per folder
    ext.seen = 0
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "b"), "--ridge", "1e-3"])
    assert res.exit_code == 0, res.output
    assert ext.seen == 0  # both folders' features came from the cache
    assert "FD (ridge 0.001) (tiny) = " in res.output and "FID" not in res.output
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["value_label"] == "FD (ridge 0.001)"


def test_unreadable_image_in_explain_dir_is_reported_and_the_rest_explained(tmp_path) -> None:
    gen, ref = _folders(tmp_path)
    extra = tmp_path / "extra"
    extra.mkdir()
    shutil.copy(gen / "bird_GT.bmp", extra / "a.bmp")
    (extra / "b.png").write_bytes(b"\x89PNG broken")
    out = tmp_path / "out"
    res = CliRunner().invoke(
        cli,
        [
            "explain",
            "fid",
            str(gen),
            str(ref),
            "--explain-dir",
            str(extra),
            "--out",
            str(out),
            "--ridge",
            "1e-3",
            "--no-cache",
            "-q",
        ],
    )
    assert res.exit_code == 1 and "b.png" in res.output
    assert pd.read_csv(out / "explanations.csv")["image"].tolist() == ["a.bmp"]
    assert json.loads((out / "summary.json").read_text())["settings"]["leave_one_out"] is False


def test_an_extractor_without_a_spatial_map_is_refused_before_any_work(tmp_path) -> None:
    d = shared_path("data", "images", "Set5")
    res = CliRunner().invoke(
        cli,
        [
            "explain",
            "fid",
            str(d),
            str(d),
            "--out",
            str(tmp_path / "o"),
            "--extractor",
            "pixel_stats",
            "--no-cache",
            "-q",
        ],
    )
    assert res.exit_code == 2 and "no spatial map" in res.output
