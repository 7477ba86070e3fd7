"""The local Ray instance of the engine tests: one per test module, 2 CPUs, shut down at its end.

Not one per session: a CI run with a session-wide Ray (and --dist loadgroup) took 21 min of tests
instead of 15, most likely because the idle Ray's daemons kept taking CPU from every later test on
that xdist worker (every slow test was slower, not only the Ray ones).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.engines import local_ray


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    yield from local_ray()
