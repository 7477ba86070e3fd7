"""openai/CLIP (``pip install openai-clip``), the reference of OpenAI's towers and tokeniser, for tests.

Its ``clip.py`` imports ``pkg_resources`` for one version check (``packaging.version``); setuptools
>= 81 no longer ships ``pkg_resources``. Where it is absent, a stand-in module holding ``packaging``
is installed before the import (only that attribute is used), so the reference runs unchanged.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest


def import_openai_clip() -> Any:
    """The ``clip`` package (skips when openai-clip is not installed)."""
    try:
        import pkg_resources  # noqa: F401
    except ImportError:
        import packaging.version

        shim = types.ModuleType("pkg_resources")
        shim.packaging = sys.modules["packaging"]  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
        assert packaging.version  # the attribute clip.py reads
    return pytest.importorskip("clip")


def openai_state(model: Any) -> dict:
    """A model's state dict as OpenAI's archives hold it: float16 tensors (plus the three shape entries)."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    return state
