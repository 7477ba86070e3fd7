"""Extractors by name: the generic registry (lazy imports, did-you-mean, duplicates), classes or targets."""

from __future__ import annotations

import subprocess
import sys

import pytest

from iqa.errors import DuplicateNameError, InputError
from iqa.features import create_extractor, list_extractors, register_extractor
from iqa.features.registry import EXTRACTORS, extractor_class
from tests.helpers.fake_extractor import TinyExtractor


def test_names_resolve_lazily() -> None:
    assert {"inception_v3_fid", "clip_vit_l14_336_cmmd", "efficientnet_lite0", "pixel_stats"} <= set(list_extractors())
    assert extractor_class("pixel_stats").__name__ == "PixelStats"
    code = "import sys, iqa.features; print(any(m in sys.modules for m in ('iqa.features.clip', 'open_clip', 'timm')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # extractors (and their optional dependencies) load on first use


def test_unknown_names_suggest_close_ones() -> None:
    with pytest.raises(InputError, match=r"unknown feature extractor 'inceptoin_v3_fid'.*inception_v3_fid"):
        create_extractor("inceptoin_v3_fid")


def test_register_a_class_or_a_target_and_refuse_duplicates() -> None:
    try:
        register_extractor("tiny_test_cls", TinyExtractor)
        register_extractor("tiny_test_str", "tests.helpers.fake_extractor:TinyExtractor")
        assert isinstance(create_extractor("tiny_test_cls", seed=1), TinyExtractor)
        assert isinstance(create_extractor("tiny_test_str"), TinyExtractor)
        register_extractor("tiny_test_cls", TinyExtractor)  # the same entry again is fine
        with pytest.raises(DuplicateNameError, match="already registered"):
            register_extractor("tiny_test_cls", "tests.helpers.fake_extractor:Other")
    finally:
        EXTRACTORS._entries.pop("tiny_test_cls", None)
        EXTRACTORS._entries.pop("tiny_test_str", None)
