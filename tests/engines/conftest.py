"""The local Ray instance of the engine tests: one per test module, 2 CPUs, shut down at its end.

Not one per session: an idle Ray's daemons kept taking CPU from every later test on that xdist
worker (a CI run with a session-wide Ray took 21 min of tests instead of 15).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.engines import local_ray


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    yield from local_ray()
