"""iqa.compare / iqa compare: folders with mixed sizes, shared features, cache, .npz and .npy inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
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
    from iqa.metrics.gen._stats import GaussianStats

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
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text())["fd_efficientnet_lite0"] > 0
    r = CliRunner().invoke(cli, ["compare", str(a), str(b), "-m", "ssim"])
    assert r.exit_code == 2 and "per-image metric" in r.output
