"""Feature-extractor interface shared by distribution metrics and explanation tools."""

from __future__ import annotations

import itertools

import torch
from torch import nn

from iqa.errors import InputError


class FeatureExtractor(nn.Module):
    """Maps float images (N, 3, H, W) in [0, 1] to features (N, dim).

    Subclasses own their input path (resizing, quantisation, normalisation), so two extractors
    with the same weights but different paths are different, named extractors. An extractor
    follows ``module.to(device)``: images given on another device are moved to its weights'
    device (:meth:`follow`) and features come back there; it never picks a device itself.

    Attributes:
        name: registry name (an instance may refine it, e.g. a CLIP tower's name).
        dim: feature dimension (an instance may set it from the network it wraps).
        spatial_layer: name of the last spatial map (for attribution), or "" if none.
    """

    name: str = ""
    dim: int = 0
    spatial_layer: str = ""

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def weights_device(self) -> torch.device | None:
        """The device of the extractor's weights, None for an extractor without any."""
        for t in itertools.chain(self.parameters(), self.buffers()):
            return t.device
        return None

    def follow(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` on the device of the weights (moved when it is elsewhere; unchanged without weights)."""
        dev = self.weights_device()
        return x if dev is None or x.device == dev else x.to(dev)

    def spatial(self, x: torch.Tensor) -> torch.Tensor:
        """The last spatial map (N, C, h, w) whose :meth:`pool` is ``forward(x)`` (for attribution)."""
        raise InputError(
            f"feature extractor {self.name!r} exposes no spatial map; attribution needs one that does "
            "(inception_v3_fid, inception_v3_fid_tf, inception_v3_fid_clean, efficientnet_lite0)"
        )

    @property
    def has_spatial_map(self) -> bool:
        return type(self).spatial is not FeatureExtractor.spatial

    def pool(self, spatial: torch.Tensor) -> torch.Tensor:
        """Features from the spatial map: the global mean, as the FID Inception and EfficientNet pool."""
        return spatial.mean(dim=(2, 3))

    def logits(self, features: torch.Tensor) -> torch.Tensor:
        """Classifier logits from features (for top-1 class views)."""
        raise InputError(f"feature extractor {self.name!r} has no classifier head; top-1 class views need one")

    def class_names(self) -> list[str] | None:
        """Names of the classifier's classes in logit order, or None when unknown."""
        return None

    def cache_key(self) -> str:
        """Identifies features for caching: extractor name, input path and weights."""
        return self.name
