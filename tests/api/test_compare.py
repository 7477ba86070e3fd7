"""iqa.compare / iqa compare: folders with mixed sizes, shared features, cache, .npz and .npy inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.api import comparison as compare_mod
from iqa.cli.main import cli


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> tuple[Path, Path]:  # noqa: ANN001
    import skimage

    root = tmp_path_factory.mktemp("cmp")
    data = Path(skimage.__file__).parent / "data"
    a, b = root / "a", root / "b"
    a.mkdir()
    b.mkdir()
    rng = np.random.default_rng(0)
    for i, name in enumerate(["astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"] * 3):
        im = Image.open(data / name).convert("RGB")
        w, h = int(rng.integers(100, 200)), int(rng.integers(100, 200))  # mixed sizes
        crop = im.crop((0, 0, w, h))
        crop.save(a / f"{i:02d}.png")
        arr = np.asarray(crop).astype(float) * 0.6 + 60
        Image.fromarray(arr.astype(np.uint8)).save(b / f"{i:02d}.png")
    (b / "broken.png").write_bytes(b"not a png")
    return a, b


def test_features_are_shared_and_cached(sets, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    a, b = sets
    calls = []
    real = compare_mod.extract_folder
    monkeypatch.setattr(compare_mod, "extract_folder", lambda *x, **k: calls.append(x[0]) or real(*x, **k))
    metrics = ["fd_efficientnet_lite0", "mmd_efficientnet_lite0"]
    first = iqa.compare(a, b, metrics, cache_dir=tmp_path)
    assert len(calls) == 2  # one pass per folder for both metrics
    assert first["n_a"] == 12 and first["n_b"] == 12 and len(first["failed"]) == 1
    again = iqa.compare(a, a, metrics, cache_dir=tmp_path)  # folder a comes from the cache
    # 0 up to rounding: 12 samples in 1280 dims make the covariance singular (eigh fallback)
    assert len(calls) == 2 and abs(again["fd_efficientnet_lite0"]) < 1e-3
    assert first["fd_efficientnet_lite0"] > 1 and first["mmd_efficientnet_lite0"] > 0


def test_cache_invalidates_on_change(sets, tmp_path: Path) -> None:  # noqa: ANN001
    a, _ = sets
    files = sorted(p.name for p in a.iterdir())
    before = compare_mod.folder_fingerprint(a, files)
    assert before == compare_mod.folder_fingerprint(a, files)
    copy = tmp_path / "c"
    copy.mkdir()
    for f in files:
        (copy / f).write_bytes((a / f).read_bytes())
    assert compare_mod.folder_fingerprint(copy, files) == before
    (copy / files[0]).write_bytes((a / files[1]).read_bytes())
    assert compare_mod.folder_fingerprint(copy, files) != before


def test_npz_and_npy_inputs(sets, tmp_path: Path) -> None:  # noqa: ANN001
    a, b = sets
    m = iqa.create("fd_efficientnet_lite0")
    fa, _ = compare_mod.extract_folder(a, m.extractor)
    np.save(tmp_path / "a.npy", fa.numpy())
    from iqa.stats import GaussianStats

    GaussianStats(1280).update(fa).save_npz(tmp_path / "a.npz")
    ref = iqa.compare(a, b, ["fd_efficientnet_lite0"], cache_dir=None)["fd_efficientnet_lite0"]
    assert iqa.compare(tmp_path / "a.npy", b, ["fd_efficientnet_lite0"])["fd_efficientnet_lite0"] == pytest.approx(
        ref, rel=1e-9
    )
    assert iqa.compare(tmp_path / "a.npz", b, ["fd_efficientnet_lite0"])["fd_efficientnet_lite0"] == pytest.approx(
        ref, rel=1e-9
    )
    with pytest.raises(ValueError, match="only work with Frechet"):
        iqa.compare(tmp_path / "a.npz", b, ["mmd_efficientnet_lite0"])


def test_cli(sets, tmp_path: Path) -> None:  # noqa: ANN001
    a, b = sets
    out = tmp_path / "r.json"
    r = CliRunner().invoke(
        cli,
        [
            "compare",
            str(a),
            str(b),
            "-m",
            "fd_efficientnet_lite0",
            "-o",
            str(out),
            "--cache-dir",
            str(tmp_path / "cache"),
            "-q",
        ],
    )
    assert r.exit_code == 1, r.output  # b/broken.png could not be read: exit 1, after writing the result
    assert json.loads(out.read_text())["fd_efficientnet_lite0"] > 0
    r = CliRunner().invoke(cli, ["compare", str(a), str(b), "-m", "ssim"])
    assert r.exit_code == 2 and "per-image metric" in r.output


def _tiny_sets() -> tuple:  # noqa: ANN202
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 3, 32, 32, generator=g)
    return x, (x * 0.6 + 0.3 * torch.rand(40, 3, 32, 32, generator=g)).clamp(0, 1)


def _tiny_options(*names: str) -> dict:
    from tests.helpers.fake_extractor import TinyExtractor

    opts = {n: {"extractor": TinyExtractor()} for n in names}
    if "kid" in opts:
        opts["kid"].update(subsets=5, subset_size=20)
    return opts


def test_tensor_sides_report_kid_std_and_counts() -> None:
    x, y = _tiny_sets()
    names = ["fid", "kid", "cmmd"]
    result = iqa.compare(x, y, names, options=_tiny_options(*names))
    assert list(result) == ["fid", "kid", "kid_std", "cmmd", "n_a", "n_b", "failed", "provenance"]
    assert result["n_a"] == result["n_b"] == 40 and result["failed"] == []
    m = iqa.create("kid", **_tiny_options("kid")["kid"])
    m.update(x, real=True)
    m.update(y, real=False)
    r = m.compute()
    assert (result["kid"], result["kid_std"]) == pytest.approx((r.value, r.extras["std"]), rel=1e-12)


def test_npz_on_either_side_merges_exactly(tmp_path: Path) -> None:
    from iqa.stats import GaussianStats
    from tests.helpers.fake_extractor import TinyExtractor

    x, y = _tiny_sets()
    ext = TinyExtractor()
    GaussianStats.from_features(ext(x)).save_npz(tmp_path / "x.npz")
    GaussianStats.from_features(ext(y)).save_npz(tmp_path / "y.npz")
    ref = iqa.compare(x, y, ["fid"], options=_tiny_options("fid"))["fid"]
    for a, b in ((tmp_path / "x.npz", y), (x, tmp_path / "y.npz"), (tmp_path / "x.npz", tmp_path / "y.npz")):
        got = iqa.compare(a, b, ["fid"], options=_tiny_options("fid"))
        assert got["fid"] == pytest.approx(ref, rel=1e-9)
    assert got["n_a"] is None and got["n_b"] is None
    with pytest.raises(ValueError, match="b: .*only work with Frechet"):
        iqa.compare(x, tmp_path / "y.npz", ["cmmd"], options=_tiny_options("cmmd"))


def test_settings_object_and_keywords(sets, tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    from iqa.api.settings import RunSettings

    a, b = sets
    seen = []
    real = compare_mod.extract_folder
    monkeypatch.setattr(compare_mod, "extract_folder", lambda *x, **k: seen.append(k) or real(*x, **k))
    opts = _tiny_options("fid")
    by_settings = iqa.compare(a, b, ["fid"], options=opts, settings=RunSettings(batch_size=5, workers=1))
    assert [(k["batch_size"], k["workers"]) for k in seen] == [(5, 1), (5, 1)]
    seen.clear()
    overridden = iqa.compare(a, b, ["fid"], options=opts, settings=RunSettings(batch_size=5), batch_size=7)
    assert [k["batch_size"] for k in seen] == [7, 7]
    assert overridden["fid"] == pytest.approx(by_settings["fid"], rel=1e-9)  # batching never changes values


@pytest.mark.skipif(torch.cuda.is_available(), reason="the error of a machine without CUDA")
def test_absent_cuda_is_a_clear_error() -> None:
    x, y = _tiny_sets()
    with pytest.raises(ValueError, match="CUDA is not available"):
        iqa.compare(x, y, ["fid"], options=_tiny_options("fid"), device="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_compare_on_cuda_equals_cpu() -> None:
    x, y = _tiny_sets()
    names = ["fid", "kid", "cmmd"]
    cpu = iqa.compare(x, y, names, options=_tiny_options(*names))
    gpu = iqa.compare(x, y, names, options=_tiny_options(*names), device="cuda")
    for k in ("fid", "kid", "cmmd"):
        assert gpu[k] == pytest.approx(cpu[k], rel=1e-4, abs=1e-7), k
