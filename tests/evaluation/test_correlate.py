"""``correlate`` end to end on a KADID-format fixture: values, cache, resume, failures, report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import iqa
from iqa.api.settings import RunSettings
from iqa.datasets import load_kadid10k
from iqa.errors import InputError
from iqa.evaluation import correlate, srcc
from iqa.evaluation.analysis import analyze
from iqa.io import read_image
from iqa.reports import write_correlation_report
from tests.helpers.mos_fixtures import make_kadid


@pytest.fixture(scope="module")
def kadid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_kadid(tmp_path_factory.mktemp("kadid"), n_refs=3)


def counting(name: str) -> iqa.metrics.base.FRMetric:  # type: ignore[name-defined]
    """A metric that counts the images it scores (to see what the cache saves)."""
    m = iqa.create(name)
    m.seen, inner = 0, m.forward

    def forward(x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        m.seen += len(x)
        return inner(x, ref)

    m.forward = forward
    return m


def test_values_equal_a_direct_computation(kadid: Path, tmp_path: Path) -> None:
    r = correlate("kadid10k", ["psnr", "ssim"], root=kadid, cache=tmp_path, n_boot=100)
    d = load_kadid10k(kadid)
    psnr = iqa.create("psnr")
    direct = np.array(
        [
            psnr(read_image(kadid / i)[None], read_image(kadid / f)[None]).item()
            for i, f in zip(d.table["image"], d.table["ref"])
        ]
    )
    assert np.allclose(r.table["psnr"].to_numpy(), direct, rtol=0, atol=1e-9)
    row = r.overall.set_index("metric").loc["psnr"]
    assert row["srcc"] == pytest.approx(srcc(direct, d.table["mos"].to_numpy()), abs=1e-12)
    assert row["srcc_lo"] <= row["srcc"] <= row["srcc_hi"] and row["n"] == 30
    assert set(r.per_group) == {"distortion", "family", "level", "content"}
    assert r.pairwise.iloc[0][["metric_a", "metric_b"]].tolist() == ["psnr", "ssim"]
    noise = r.per_group["distortion"].query("group == 'white_noise' and metric == 'psnr'")["srcc"].item()
    assert noise > 0.9  # PSNR ranks noise levels almost perfectly (the fixture's labels fall with the level)


def test_cache_resumes_and_adding_a_metric_scores_only_it(kadid: Path, tmp_path: Path) -> None:
    first = counting("psnr")
    calls = {"n": 0}

    def stop_after_first_chunk(metric: str, done: int, total: int) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the first chunk of 8 is journaled, then we "crash"
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        correlate(
            "kadid10k",
            {"psnr": first},
            root=kadid,
            cache=tmp_path,
            n_boot=0,
            settings=RunSettings(batch_size=8, progress=stop_after_first_chunk),
        )
    assert (tmp_path / "psnr.csv.partial.jsonl").exists()
    again, ssim = counting("psnr"), counting("ssim")
    r = correlate(
        "kadid10k",
        {"psnr": again, "ssim": ssim},
        root=kadid,
        cache=tmp_path,
        n_boot=0,
        settings=RunSettings(batch_size=8),
    )
    assert again.seen == 30 - 8 and ssim.seen == 30 and r.overall["n"].tolist() == [30, 30]
    third = counting("psnr")
    correlate("kadid10k", {"psnr": third}, root=kadid, cache=tmp_path, n_boot=0)
    assert third.seen == 0


def test_cache_refuses_other_options(kadid: Path, tmp_path: Path) -> None:
    correlate("kadid10k", ["ssim"], root=kadid, cache=tmp_path, n_boot=0)
    with pytest.raises(InputError, match="holds ssim scores computed with"):
        correlate("kadid10k", {"ssim": iqa.create("ssim", downsample=False)}, root=kadid, cache=tmp_path, n_boot=0)


def test_a_failing_metric_is_reported_not_fatal(kadid: Path, tmp_path: Path) -> None:
    r = correlate("kadid10k", ["psnr", "ms_ssim"], root=kadid, cache=tmp_path / "c", n_boot=0)
    ms = r.overall.set_index("metric").loc["ms_ssim"]
    assert ms["n"] == 0 and ms["errors"] == 30 and "at least 176x176" in ms["first_error"]
    assert r.scored == ["psnr"]
    paths = write_correlation_report(r, tmp_path / "report")
    assert "ms_ssim" in paths["markdown"].read_text() and "176x176" in paths["html"].read_text()


def test_split_limit_and_missing_files(kadid: Path, tmp_path: Path) -> None:
    test_refs = set(load_kadid10k(kadid).subset("test").table["content"])
    r = correlate("kadid10k", ["psnr"], root=kadid, cache=tmp_path, split="test", n_boot=0)
    assert set(r.table["content"]) == test_refs and r.split == "test"
    assert len(correlate("kadid10k", ["psnr"], root=kadid, cache=tmp_path, limit=7, n_boot=0).table) == 7
    with pytest.raises(InputError, match="root="):
        correlate("kadid10k", ["psnr"], cache=tmp_path)


def test_report_files(kadid: Path, tmp_path: Path) -> None:
    r = correlate("kadid10k", ["psnr", "ssim"], root=kadid, cache=tmp_path / "cache", n_boot=50)
    paths = write_correlation_report(r, tmp_path, command="iqa correlate ...")
    for kind in ("summary", "scores", "pairwise", "per_group_distortion", "markdown", "html"):
        assert paths[kind].is_file()
    page = paths["html"].read_text()
    assert page.count("data:image/png;base64,") == len(list((tmp_path / "figures").glob("*.png"))) == 6
    assert "http://" not in page and "https://" not in page  # self-contained
    md = paths["markdown"].read_text()
    assert "| psnr | 30 |" in md and "![psnr vs" in md and "Williams" in page
    summary = np.genfromtxt(paths["summary"], delimiter=",", names=True, dtype=None, encoding="utf-8")
    assert list(summary["metric"]) == ["psnr", "ssim"]
    assert json.dumps(r.settings)  # plain values, recorded in the report


def test_a_handful_of_records_is_analysed_with_notes_on_what_was_skipped() -> None:
    """Issue 20 item 6 at the library level: 4 records, one metric that scored nothing."""
    table = pd.DataFrame(
        {"mos": [1.0, 2.0, 3.0, 4.0], "a": [0.1, 0.3, 0.2, 0.9], "b": [np.nan] * 4, "level": [1, 2, 3, 4]}
    )
    r = analyze(table, {"a": True, "b": True}, group_columns=("level",), n_boot=100)
    a = r.overall.set_index("metric").loc["a"]
    assert a["srcc"] == pytest.approx(0.8)  # by hand: ranks 1,3,2,4 vs 1..4, 1 - 6 * 2 / (4 * 15)
    assert np.isnan(a["plcc"]) and np.isnan(a["rmse"]) and a["fit"] == "skipped" and "srcc_lo" not in r.overall
    assert r.scored == ["a"] and r.per_group == {}  # one image per level: SRCC per level is undefined
    assert [n.split(":")[0] for n in r.notes] == [
        "logistic5 fit skipped",
        "no bootstrap confidence intervals or bootstrap test for metrics with fewer than 10 scored images (here 4)",
        "SRCC per level not shown",
    ]
