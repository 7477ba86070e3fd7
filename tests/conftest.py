"""Test configuration: offline by default, shared-data fixtures, seeded RNG.

Tests that need ``../shared`` (real images, labels, weights beside the checkout) use the
``shared_dir`` fixture: it skips with a reason when the folder is absent, and fails instead when
``IQA_REQUIRE_SHARED=1`` (set by ``.ci/run``), so CI really runs them.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent

# Under pytest-xdist every worker is a process: share the cores between them instead of letting each
# start one torch thread per core (oversubscribed, the suite ran twice as long on 2 cores).
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
SHARED = Path(os.environ.get("IQA_SHARED_DIR", ROOT.parent / "shared"))


def shared_path(*parts: str) -> Path:
    """Path under ../shared; skip (or fail under IQA_REQUIRE_SHARED=1) if it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        msg = f"{p} is absent: these tests need the ../shared folder beside the checkout"
        if os.environ.get("IQA_REQUIRE_SHARED") == "1":
            pytest.fail(msg + " (IQA_REQUIRE_SHARED=1 turns this skip into a failure)")
        pytest.skip(msg)
    return p


_SKIPPED: list[str] = []


BROWSER_SKIP = "chromium not installed"  # allowed unless IQA_REQUIRE_BROWSER=1 (.ci/run sets it once chromium is in)
# Accelerator-only checks skip on machines without one (CI has none); the reverse case is allowed too.
CUDA_SKIPS = ("needs CUDA", "machine without CUDA")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if BROWSER_SKIP in reason and os.environ.get("IQA_REQUIRE_BROWSER") != "1":
            return
        if any(s in reason for s in CUDA_SKIPS):
            return
        _SKIPPED.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Under IQA_REQUIRE_SHARED=1 (CI) any skip fails the run: a reference package or data file
    that is missing there would otherwise hide a parity test."""
    if os.environ.get("IQA_REQUIRE_SHARED") == "1" and _SKIPPED and exitstatus == 0:
        print(f"\nIQA_REQUIRE_SHARED=1: {len(_SKIPPED)} test(s) skipped, which CI does not allow: {_SKIPPED[:5]}")
        session.exitstatus = 1


@pytest.fixture
def shared_dir() -> Path:
    return shared_path()


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, no user cache, no user weights dir: every test starts clean."""
    monkeypatch.setenv("IQA_OFFLINE", "1")
    monkeypatch.setenv("IQA_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    monkeypatch.delenv("IQA_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("IQA_MAX_PIXELS", raising=False)
    torch.manual_seed(0)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _photo(name: str) -> np.ndarray:
    import skimage
    from PIL import Image

    return np.asarray(Image.open(Path(skimage.__file__).parent / "data" / name).convert("RGB"))


@pytest.fixture(scope="session")
def photo() -> torch.Tensor:
    """A real photo bundled with scikit-image (astronaut, 512x512), float32 (1, 3, H, W) in [0, 1]."""
    return torch.from_numpy(_photo("astronaut.png").copy()).permute(2, 0, 1).unsqueeze(0).float() / 255


@pytest.fixture(scope="session")
def photos() -> torch.Tensor:
    """Four 256x256 crops of bundled photos (astronaut, coffee, chelsea, rocket), (4, 3, 256, 256)."""
    crops = []
    for name in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg"):
        a = _photo(name)
        crops.append(a[:256, :256])
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).float() / 255
