"""Extractors by name: ``create_extractor("inception_v3_fid")``, or built on first use: ``lazy_extractor``.

Entries are ``"module:Class"`` strings imported on first use, so optional dependencies (open_clip,
timm) stay optional and ``import iqa`` loads no network; a class can be registered directly too.
The registry is the generic :class:`iqa.registry.Registry` (did-you-mean errors, duplicate checks).

A :class:`LazyExtractor` knows what its features are (``cache_key()`` and ``dim``, declared below
for the registered extractors) without its network, which is built, and its weights resolved, only
when images are given: statistics and feature files are checked and compared offline.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import torch

from iqa.features.base import FeatureExtractor
from iqa.registry import Registry

Target = str | type[FeatureExtractor]  # "module:Class" (imported lazily) or the class itself

EXTRACTORS: Registry[Target] = Registry("feature extractor")

for _name, _target in {
    "inception_v3_fid": "iqa.features.inception:FIDInceptionPytorchFID",
    "inception_v3_fid_tf": "iqa.features.inception:FIDInceptionTF",
    "inception_v3_fid_clean": "iqa.features.inception:FIDInceptionClean",
    "inception_v3_fid_tf_spatial7": "iqa.features.inception:FIDInceptionSpatial7",  # sFID (ADM evaluator)
    "clip": "iqa.features.clip:CLIPImage",  # any OpenAI tower: clip(model_name="RN50", preprocess=...)
    "clip_vit_b32": "iqa.features.clip:CLIPViTB32",
    "clip_vit_b16": "iqa.features.clip:CLIPViTB16",
    "clip_vit_l14": "iqa.features.clip:CLIPViTL14",
    "clip_vit_l14_336": "iqa.features.clip:CLIPViTL14_336",
    "clip_vit_l14_336_cmmd": "iqa.features.clip:CLIPCMMD",
    "efficientnet_lite0": "iqa.features.efficientnet:EfficientNetLite0",
    "pixel_stats": "iqa.features.pixel_stats:PixelStats",  # hand-crafted, no weights
    "dinov2_vits14": "iqa.features.dinov2:DINOv2ViTS14",  # dgm-eval input path; preprocess= for others
    "dinov2_vitb14": "iqa.features.dinov2:DINOv2ViTB14",
    "dinov2_vitl14": "iqa.features.dinov2:DINOv2ViTL14",
    "dinov2_vitg14": "iqa.features.dinov2:DINOv2ViTG14",
    "dinov2_vitl14_torch_fidelity": "iqa.features.dinov2:DINOv2ViTL14TorchFidelity",
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


#: (cache_key(), dim) of each registered extractor built with its defaults (``weights=`` aside),
#: known without building it; tests/features/test_registry.py checks them against the classes.
DECLARED: dict[str, tuple[str, int]] = {
    "inception_v3_fid": ("inception_v3_fid", 2048),
    "inception_v3_fid_tf": ("inception_v3_fid_tf", 2048),
    "inception_v3_fid_clean": ("inception_v3_fid_clean", 2048),
    "inception_v3_fid_tf_spatial7": ("inception_v3_fid_tf_spatial7", 2023),
    "clip_vit_b32": ("clip_vit_b32:raw", 512),
    "clip_vit_b16": ("clip_vit_b16:raw", 512),
    "clip_vit_l14": ("clip_vit_l14:raw", 768),
    "clip_vit_l14_336": ("clip_vit_l14_336:raw", 768),
    "clip_vit_l14_336_cmmd": ("clip_vit_l14_336_cmmd:raw", 768),
    "efficientnet_lite0": ("efficientnet_lite0", 1280),
    "pixel_stats": ("pixel_stats-v2", 98),
    "dinov2_vits14": ("dinov2_vits14:dgm_eval", 384),
    "dinov2_vitb14": ("dinov2_vitb14:dgm_eval", 768),
    "dinov2_vitl14": ("dinov2_vitl14:dgm_eval", 1024),
    "dinov2_vitg14": ("dinov2_vitg14:dgm_eval", 1536),
    "dinov2_vitl14_torch_fidelity": ("dinov2_vitl14:torch_fidelity", 1024),
}


class LazyExtractor(FeatureExtractor):
    """A registered extractor that is built (weights resolved) on first use, not when declared.

    ``name``, ``dim`` and ``cache_key()`` are known from the start, so precomputed features and
    statistics are checked and used without the network. Calling it, :meth:`spatial`,
    :meth:`logits` or :meth:`load` builds the extractor, on the device this module was moved to,
    in its train/eval mode; :meth:`load` returns the built extractor (its own attributes).
    """

    _anchor: torch.Tensor

    def __init__(self, name: str, *, key: str, dim: int, weights: str | Path | None = None) -> None:
        super().__init__()
        self.name, self.dim, self._key, self._weights = name, dim, key, weights
        self._built: FeatureExtractor | None = None
        # follows .to()/.cuda(), so the extractor is built where the metric was moved
        self.register_buffer("_anchor", torch.empty(0), persistent=False)

    @property
    def loaded(self) -> bool:
        """Whether the extractor has been built."""
        return self._built is not None

    def load(self) -> FeatureExtractor:
        """The extractor, built now if it was not (raises what building it raises: missing weights...)."""
        if self._built is None:
            ext = create_extractor(self.name, **({"weights": self._weights} if self._weights is not None else {}))
            if (ext.cache_key(), ext.dim) != (self._key, self.dim):
                raise TypeError(
                    f"extractor {self.name!r} was declared as {(self._key, self.dim)} but builds as "
                    f"{(ext.cache_key(), ext.dim)}: fix DECLARED in iqa.features.registry"
                )
            self._built = ext.to(self._anchor.device).train(self.training)
            self.spatial_layer = ext.spatial_layer
        return self._built

    def cache_key(self) -> str:
        return self._key

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.load()(x)

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        return self.load().spatial(x)

    @property
    def has_spatial_map(self) -> bool:
        return self.load().has_spatial_map

    def pool(self, spatial: torch.Tensor) -> torch.Tensor:
        return self.load().pool(spatial)

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        return self.load().logits(features)

    def class_names(self) -> list[str] | None:
        return self.load().class_names()


def lazy_extractor(name: str, *, weights: str | Path | None = None) -> FeatureExtractor:
    """The extractor registered as ``name``, built on first use when what it gives is declared
    (:data:`DECLARED`), else now (an extractor registered without a declaration).
    """
    declared = DECLARED.get(name)
    if declared is None:
        return create_extractor(name, **({"weights": weights} if weights is not None else {}))
    key, dim = declared
    return LazyExtractor(name, key=key, dim=dim, weights=weights)
