"""Helpers of the Ray engine tests: shared data, the local Ray instance, table equality.

Each Ray test module starts one local Ray instance (2 CPUs, a small object store, no dashboard;
tests/engines/conftest.py) and shuts it down at its end; expected values always come from the single-process run of
the same job.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

# Cheap metrics that build offline: full-reference (psnr, ssim) and no-reference (niqe, brisque,
# their parameters from ../shared/weights through IQA_WEIGHTS_DIR).
FR_NR = ("psnr", "ssim", "niqe", "brisque")


def local_ray() -> Iterator[Any]:
    """A local Ray instance (2 CPUs), shut down afterwards."""
    import ray

    ray.init(num_cpus=2, object_store_memory=200 * 2**20, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def weights_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    """niqe's and brisque's parameters from ../shared/weights (reaching the workers through runtime_env)."""
    from tests.conftest import shared_path

    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(shared_path("weights")))


def image_pairs(root: Path, n: int = 8, *, broken: bool = True) -> tuple[Path, Path]:
    """``n`` distorted/reference PNG pairs in two sizes (natural order interleaves them); with
    ``broken``, a corrupt distorted file (its reference is fine) and a file without a reference.
    """
    rng = np.random.default_rng(24)
    dist, ref = root / "dist", root / "ref"
    dist.mkdir(parents=True)
    ref.mkdir(parents=True)
    for i in range(n):
        h, w = (192, 208) if i % 2 else (192, 192)  # niqe needs 192x192
        x = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        y = np.clip(x.astype(int) + rng.integers(-25, 26, x.shape), 0, 255).astype(np.uint8)
        Image.fromarray(x).save(ref / f"im{i}.png")
        Image.fromarray(y).save(dist / f"im{i}.png")
    if broken:
        (dist / "im3.png").write_bytes(b"not a png at all")
        Image.fromarray(rng.integers(0, 256, (192, 192, 3), dtype=np.uint8)).save(dist / "lonely.png")
    return dist, ref


def same_cell(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def assert_same_rows(got: list[dict], want: list[dict]) -> None:
    """Every cell equal (NaN equals NaN), same columns, same order."""
    assert [r["file"] for r in got] == [r["file"] for r in want]
    for g, w in zip(got, want):
        assert list(g) == list(w), (list(g), list(w))
        bad = {k: (g[k], w[k]) for k in w if not same_cell(g[k], w[k])}
        assert not bad, f"{w['file']}: {bad}"
