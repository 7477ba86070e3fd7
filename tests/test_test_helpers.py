"""The test-only stand-ins leave no trace: a later test on the same worker sees the interpreter as it was."""

from __future__ import annotations

import importlib
import importlib.util
import sys

from tests.helpers.openai_clip import import_openai_clip, pkg_resources_stub


def test_pkg_resources_stand_in_is_removed_after_the_import(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    before = sys.modules.get("pkg_resources")
    if before is None and importlib.util.find_spec("pkg_resources") is not None:
        before = importlib.import_module("pkg_resources")  # a real one is imported inside anyway
    with pkg_resources_stub():
        import pkg_resources  # type: ignore[import-not-found]

        assert pkg_resources.packaging  # what clip.py reads (the real module or the stand-in)
    import_openai_clip()
    assert (
        sys.modules.get("pkg_resources") is before and "clip" in sys.modules
    )  # clip stays loaded, a stand-in does not
    monkeypatch.syspath_prepend(str(tmp_path))  # failed with the stand-in left behind (fixup_namespace_packages)
