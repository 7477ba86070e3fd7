"""The local Ray instance of the engine tests: one per test session (per xdist worker), 2 CPUs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.engines import local_ray


@pytest.fixture(scope="session")
def ray_local() -> Iterator[Any]:
    yield from local_ray()
