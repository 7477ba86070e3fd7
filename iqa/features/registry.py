"""Extractors by name: ``create_extractor("inception_v3_fid")``. Factories import lazily."""

from __future__ import annotations

import difflib
import importlib
from typing import Any

from iqa.errors import InputError
from iqa.features.base import FeatureExtractor

# name -> "module:Class"; imported on first use so that optional dependencies stay optional.
_EXTRACTORS: dict[str, str] = {
    "inception_v3_fid": "iqa.features.inception:FIDInceptionPytorchFID",
    "inception_v3_fid_tf": "iqa.features.inception:FIDInceptionTF",
    "inception_v3_fid_clean": "iqa.features.inception:FIDInceptionClean",
    "clip": "iqa.features.clip:CLIPImage",  # any OpenAI tower: clip(model_name="RN50", preprocess=...)
    "clip_vit_b32": "iqa.features.clip:CLIPViTB32",
    "clip_vit_b16": "iqa.features.clip:CLIPViTB16",
    "clip_vit_l14": "iqa.features.clip:CLIPViTL14",
    "clip_vit_l14_336": "iqa.features.clip:CLIPViTL14_336",
    "clip_vit_l14_336_cmmd": "iqa.features.clip:CLIPCMMD",
    "efficientnet_lite0": "iqa.features.efficientnet:EfficientNetLite0",
    "pixel_stats": "iqa.features.pixel_stats:PixelStats",  # hand-crafted, no weights
}


def register_extractor(name: str, target: str) -> None:
    """Register ``"module:Class"`` under ``name`` (duplicate names raise)."""
    if name in _EXTRACTORS and _EXTRACTORS[name] != target:
        raise InputError(f"feature extractor {name!r} is already registered as {_EXTRACTORS[name]}")
    _EXTRACTORS[name] = target


def list_extractors() -> list[str]:
    return sorted(_EXTRACTORS)


def create_extractor(name: str, **kwargs: Any) -> FeatureExtractor:
    """Build a registered extractor; unknown names suggest close matches."""
    if name not in _EXTRACTORS:
        close = difflib.get_close_matches(name, list(_EXTRACTORS), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise InputError(f"unknown feature extractor {name!r}.{hint} Known: {', '.join(list_extractors())}")
    module, cls = _EXTRACTORS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**kwargs)
