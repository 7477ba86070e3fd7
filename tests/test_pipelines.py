"""Library pipelines: each runs its steps, takes its numbers from evaluation and only renders them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from iqa.api.settings import RunSettings
from iqa.attacks.fid_resample import ResampleResult
from iqa.attacks.fid_resample_run import ResampleRun
from iqa.evaluation import correlate
from iqa.pipelines import correlation_report, summarize_resample
from tests.helpers.mos_fixtures import make_kadid


def test_correlation_report_caches_under_the_report(tmp_path: Path) -> None:
    root = make_kadid(tmp_path / "kadid", n_refs=2)
    seen: list[str] = []
    out = correlation_report("kadid10k", ["psnr"], tmp_path / "rep", root=root, n_boot=0, command="iqa x",
                             settings=RunSettings(progress=lambda label, done, total: seen.append(label)))  # fmt: skip
    assert (tmp_path / "rep" / "cache" / "psnr.csv").is_file() and seen and set(seen) == {"psnr"}
    assert out.paths["html"].is_file() and "iqa x" in out.paths["markdown"].read_text()
    direct = correlate("kadid10k", ["psnr"], root=root, cache=tmp_path / "other", n_boot=0)
    assert out.result.overall["srcc"].tolist() == direct.overall["srcc"].tolist()
    assert out.result.negated == {"psnr": False}  # PSNR and KADID's MOS are both higher-is-better


def test_summarize_resample() -> None:
    p_log = np.log(np.array([0.2, 0.4, 0.4]))
    res = ResampleResult(p_log, [], {"fd": 4.0, "fd_pixel_stats": 2.0}, {"fd": 3.0, "fd_pixel_stats": 2.5})
    run = ResampleRun(res, ["a", "b", "c"], "x", np.array([0, 1, 1]), np.array([1, 1]), ["cat", "dog"], None, [])
    s = summarize_resample(run)
    assert s.relative_change == pytest.approx({"fd": -0.25, "fd_pixel_stats": 0.25})
    assert s.effective_sample_size == pytest.approx(1 / (0.04 + 0.16 + 0.16))
    assert s.top1_before is not None and s.top1_after is not None
    assert s.top1_after.overlap > s.top1_before.overlap  # the weights moved mass to the reference's class
    no_classes = ResampleRun(res, ["a", "b", "c"], "x", None, None, None, None, [])
    assert summarize_resample(no_classes).top1_before is None
