"""``compare_on_ray``: features extracted by Ray actors give the values of ``iqa.compare`` on the same
folders (issue 24). One local Ray instance (2 CPUs) serves the module.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

import iqa
from iqa.api import ray_compare
from iqa.api.ray_compare import compare_on_ray
from iqa.api.ray_engine import RayOptions
from iqa.api.settings import RunSettings
from tests.helpers.fake_extractor import TinyExtractor


def _folder(root: Path, n: int, shift: float, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    root.mkdir()
    for i in range(n):
        size = (32, 32) if i % 3 else (40, 36)  # mixed sizes: batches group by size
        x = np.clip(rng.random((*size, 3)) * (1 - shift) + shift * 0.5, 0, 1)
        Image.fromarray((x * 255).astype(np.uint8)).save(root / f"img{i}.png")
    return root


def test_compare_equals_one_process(ray_local: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a = _folder(tmp_path / "a", 30, 0.0, 1)
    b = _folder(tmp_path / "b", 26, 0.3, 2)
    (b / "img7.png").write_bytes(b"broken")  # a failure is reported, not fatal, in chunk order
    names = ["fid", "kid", "cmmd"]
    opts: dict[str, dict[str, Any]] = {n: {"extractor": TinyExtractor()} for n in names}
    opts["kid"].update(subsets=4, subset_size=10)
    run = RunSettings(batch_size=8)
    want = iqa.compare(a, b, names, options=opts, settings=run)
    extracted: list[int] = []
    real = ray_compare.features_on_ray

    def spy(*args: Any, **kw: Any) -> Any:
        out = real(*args, **kw)
        extracted.extend(side.n for side in out)
        return out

    monkeypatch.setattr(ray_compare, "features_on_ray", spy)
    got = compare_on_ray(a, b, names, options=opts, settings=run, ray_options=RayOptions(workers=2))
    assert extracted == [30, 25]  # both sides' features came from the actors, in one pass for the shared extractor
    assert got["fid"] == pytest.approx(want["fid"], rel=1e-9)
    for key in ("kid", "kid_std", "cmmd", "n_a", "n_b", "failed"):  # gathered features: exact
        assert got[key] == want[key], key
    assert got["n_b"] == 25 and len(got["failed"]) == 1
    assert list(got) == list(want)


def test_frechet_alone_merges_statistics_on_the_driver(ray_local: Any, tmp_path: Path) -> None:
    """FID needs only Gaussian statistics: chunks are folded in with Chan's merge and dropped, and the
    value equals one process (up to float64 rounding of a different summation order)."""
    a = _folder(tmp_path / "a", 20, 0.0, 3)
    b = _folder(tmp_path / "b", 17, 0.3, 4)
    opts: dict[str, dict[str, Any]] = {"fid": {"extractor": TinyExtractor()}}
    run = RunSettings(batch_size=4)  # 5 and 5 chunks: the merge really merges
    want = iqa.compare(a, b, ["fid"], options=opts, settings=run)
    got = compare_on_ray(a, b, ["fid"], options=opts, settings=run, ray_options=RayOptions(workers=2))
    assert got["provenance"]["engine"]["statistics_merged"] == ["fid"]
    assert got["fid"] == pytest.approx(want["fid"], rel=1e-9)
    assert (got["n_a"], got["n_b"], got["failed"]) == (want["n_a"], want["n_b"], want["failed"])
