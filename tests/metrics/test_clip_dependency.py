"""Without open_clip (the `clip` extra), CLIP-based metrics say so before downloading any weights."""

from __future__ import annotations

import sys

import pytest

import iqa
from iqa.errors import MissingDependencyError
from iqa.models import pickscore as pickscore_model

NAMES = ["clipscore", "clipscore_torchmetrics", "clipiqa", "clipiqa_plus", "liqe", "laion_aes", "hpsv2", "pickscore"]


@pytest.fixture
def no_open_clip(monkeypatch: pytest.MonkeyPatch, tmp_path):  # noqa: ANN001, ANN201
    for mod in [m for m in sys.modules if m == "open_clip" or m.startswith("open_clip.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "open_clip", None)  # import open_clip -> ImportError
    monkeypatch.setitem(sys.modules, "open_clip.tokenizer", None)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(tmp_path))  # nothing there: a download would be attempted
    monkeypatch.setenv("IQA_OFFLINE", "1")  # and refused with WeightsNotFoundError, which must not come first
    pickscore_model._tokenizer.cache_clear()
    yield
    pickscore_model._tokenizer.cache_clear()


@pytest.mark.parametrize("name", NAMES)
def test_missing_clip_extra_is_said_before_any_download(name: str, no_open_clip) -> None:  # noqa: ANN001
    with pytest.raises(MissingDependencyError, match=r"iqa\[clip\]"):
        iqa.create(name)
