"""openai/CLIP (``pip install openai-clip``), the reference of OpenAI's towers and tokeniser, for tests.

Its ``clip.py`` imports ``pkg_resources`` for one version check (``packaging.version``); setuptools
>= 81 no longer ships ``pkg_resources``. Where it is absent, a stand-in module holding ``packaging``
is put in ``sys.modules`` only while the reference is imported, then taken out again: a stand-in
left behind breaks later code that probes ``pkg_resources`` (pytest's ``monkeypatch.syspath_prepend``
calls ``pkg_resources.fixup_namespace_packages`` whenever the module is present).
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest


@contextlib.contextmanager
def pkg_resources_stub() -> Iterator[None]:
    """While open, ``import pkg_resources`` gives at least ``pkg_resources.packaging``; sys.modules is restored after."""
    if "pkg_resources" in sys.modules or importlib.util.find_spec("pkg_resources") is not None:
        yield
        return
    import packaging.version

    stub = types.ModuleType("pkg_resources")
    stub.packaging = packaging  # type: ignore[attr-defined]
    assert packaging.version  # the attribute clip.py reads
    # Only this key is added and removed: modules imported meanwhile (clip, pyiqa's archs) stay loaded.
    sys.modules["pkg_resources"] = stub
    try:
        yield
    finally:
        if sys.modules.get("pkg_resources") is stub:
            del sys.modules["pkg_resources"]


def import_openai_clip() -> Any:
    """The ``clip`` package (skips when openai-clip is not installed)."""
    with pkg_resources_stub():
        return pytest.importorskip("clip")


def openai_state(model: Any) -> dict:
    """A model's state dict as OpenAI's archives hold it: float16 tensors (plus the three shape entries)."""
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in model.state_dict().items()}
    return state
