"""Pre-flight of a run (issue 20, item 1): every metric built and the output checked before any image
is read; every problem in one message naming the metric and what it needs; ``keep_going`` runs the
rest. No weights are on this machine: the conftest points the cache at an empty folder and sets
IQA_OFFLINE, so lpips and dists (ImageNet trunks) and kid (FID Inception) cannot be built, while
psnr, ssim and fd_efficientnet_lite0 (a packaged network) can.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import iqa
from iqa.api import comparison as compare_mod
from iqa.api import job_chunks
from iqa.api.jobs import ScoreJob, output_problems, prepare_metrics, score_job
from iqa.errors import DownloadError


def _pairs(root: Path, n: int = 3) -> tuple[Path, Path]:
    """``n`` small image pairs (distorted folder, reference folder) of seeded noise."""
    d, r = root / "d", root / "r"
    d.mkdir()
    r.mkdir()
    g = np.random.default_rng(0)
    for i in range(n):
        a = (g.random((40, 48, 3)) * 255).astype(np.uint8)
        Image.fromarray(a).save(r / f"{i}.png")
        Image.fromarray(np.clip(a.astype(int) + 12, 0, 255).astype(np.uint8)).save(d / f"{i}.png")
    return d, r


def test_every_problem_at_once_naming_the_metric_and_the_fix() -> None:
    with pytest.raises(ValueError) as info:
        prepare_metrics(["psnr", "lpips", "ssim", "dists", "ssim_nope"])
    msg = str(info.value)
    assert msg.startswith("3 problems found before any image was read")
    # the metric asked for, the weight id it resolved to and the command that installs it
    assert "lpips: cannot be built" in msg and "'torchvision_alexnet'" in msg
    assert "`iqa weights fetch torchvision_alexnet`" in msg
    assert "dists: cannot be built" in msg and "'torchvision_vgg16'" in msg
    assert "unknown metric 'ssim_nope'" in msg
    assert "--keep-going" in msg


def test_keep_going_builds_what_can_be_built() -> None:
    ready = prepare_metrics(["psnr", "lpips", "ssim"], keep_going=True)
    assert list(ready.built) == ["psnr", "ssim"]
    assert list(ready.skipped) == ["lpips"] and "torchvision_alexnet" in ready.skipped["lpips"]


def test_usage_errors_stop_even_with_keep_going() -> None:
    with pytest.raises(ValueError, match="ssim does not accept option"):
        prepare_metrics(["psnr", "ssim"], {"ssim": {"sigmaa": 2}}, keep_going=True)


def test_downloads_wait_until_every_check_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    from iqa.weights import store

    monkeypatch.delenv("IQA_OFFLINE")  # downloadable: lpips's trunk has a URL
    calls: list[str] = []

    def fetch(weight_id: str, **kwargs: object) -> Path:
        calls.append(weight_id)
        raise DownloadError(f"{weight_id}: no network in tests")

    monkeypatch.setattr(store, "fetch", fetch)
    with pytest.raises(ValueError, match="writing .parquet needs pyarrow"):
        prepare_metrics(["lpips"], fatal=["output o.parquet: writing .parquet needs pyarrow"])
    assert calls == []  # the check itself downloads nothing
    ready = prepare_metrics(["psnr", "lpips"], keep_going=True)
    assert calls == ["torchvision_alexnet"]  # the real build downloads, after the checks
    assert list(ready.built) == ["psnr"] and "download failed" in ready.skipped["lpips"]


def test_output_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert output_problems(tmp_path / "new" / "o.csv") == []
    assert "unknown extension '.xlsx'" in output_problems(tmp_path / "o.xlsx")[0]
    (tmp_path / "o.csv").write_text("file\n")
    assert "exists" in output_problems(tmp_path / "o.csv")[0]
    assert output_problems(tmp_path / "o.csv", overwrite=True) == []
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # an import of it now fails: as if not installed
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    assert "pip install pyarrow" in output_problems(tmp_path / "o.parquet")[0]


def test_score_job_refuses_an_unwritable_format_before_decoding(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    d, r = _pairs(tmp_path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "fastparquet", None)
    decoded: list[Path] = []
    real = job_chunks._decode
    monkeypatch.setattr(job_chunks, "_decode", lambda j, k, r=False: decoded.append(k) or real(j, k, r))
    job = ScoreJob(root=d, ref_root=r, metrics={"psnr": iqa.create("psnr")})
    with pytest.raises(ValueError, match="pyarrow"):
        score_job(job, tmp_path / "o.parquet")
    assert decoded == []


def _sets(root: Path) -> tuple[Path, Path]:
    """Two folders of 4 crops of scikit-image photos, the second darkened, plus an unreadable file."""
    import skimage

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


@pytest.mark.filterwarnings("ignore:fd_efficientnet_lite0 .* samples for 1280-dimensional")
def test_compare_checks_every_metric_before_extracting(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    a, b = _sets(tmp_path)
    calls: list[Path] = []
    real = compare_mod.extract_folder
    monkeypatch.setattr(compare_mod, "extract_folder", lambda *x, **k: calls.append(x[0]) or real(*x, **k))
    with pytest.raises(ValueError) as info:
        iqa.compare(a, b, ["fd_efficientnet_lite0", "kid"])
    assert "kid: cannot be built" in str(info.value) and "fid_inception_v3_pt" in str(info.value)
    assert calls == []  # refused before any image was read
    kept = iqa.compare(a, b, ["fd_efficientnet_lite0", "kid"], keep_going=True)
    assert kept["fd_efficientnet_lite0"] > 0 and "fid_inception_v3_pt" in kept["skipped"]["kid"]
    assert kept["n_a"] == 4 and kept["n_b"] == 4 and len(kept["failed"]) == 1


def test_compare_refuses_statistics_for_a_kernel_metric_before_any_work(tmp_path: Path) -> None:
    from iqa.stats import GaussianStats
    from tests.helpers.fake_extractor import TinyExtractor

    ext = TinyExtractor()
    x = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    GaussianStats.from_features(ext(x)).save_npz(tmp_path / "x.npz")
    opts = {n: {"extractor": TinyExtractor()} for n in ("fid", "cmmd")}
    with pytest.raises(ValueError, match="a: mean/covariance statistics .* cmmd needs the features"):
        iqa.compare(tmp_path / "x.npz", x, ["fid", "cmmd"], options=opts)
