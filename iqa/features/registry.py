"""Extractors by name: ``create_extractor("inception_v3_fid")``.

Entries are ``"module:Class"`` strings imported on first use, so optional dependencies (open_clip,
timm) stay optional and ``import iqa`` loads no network; a class can be registered directly too.
The registry is the generic :class:`iqa.registry.Registry` (did-you-mean errors, duplicate checks).
"""

from __future__ import annotations

import importlib
from typing import Any

from iqa.features.base import FeatureExtractor
from iqa.registry import Registry

Target = str | type[FeatureExtractor]  # "module:Class" (imported lazily) or the class itself

EXTRACTORS: Registry[Target] = Registry("feature extractor")

for _name, _target in {
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
}.items():
    EXTRACTORS.add(_name, _target)


def register_extractor(name: str, target: Target) -> None:
    """Register ``target`` (``"module:Class"`` or a :class:`FeatureExtractor` subclass) as ``name``.

    Raises:
        DuplicateNameError: ``name`` is registered with another target.
    """
    EXTRACTORS.add(name, target)


def list_extractors() -> list[str]:
    """Registered extractor names, sorted."""
    return EXTRACTORS.names()


def extractor_class(name: str) -> type[FeatureExtractor]:
    """The class registered as ``name`` (imported now); unknown names suggest close matches."""
    target = EXTRACTORS.get(name)
    if isinstance(target, str):
        module, cls = target.split(":")
        target = getattr(importlib.import_module(module), cls)
    if not (isinstance(target, type) and issubclass(target, FeatureExtractor)):
        raise TypeError(f"feature extractor {name!r} is registered as {target!r}, not a FeatureExtractor class")
    return target


def create_extractor(name: str, **kwargs: Any) -> FeatureExtractor:
    """Build the extractor registered as ``name`` with ``kwargs`` (e.g. ``weights=``, ``model=``)."""
    return extractor_class(name)(**kwargs)
