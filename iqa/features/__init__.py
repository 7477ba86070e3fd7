"""Feature extractors for distribution metrics and attribution (FID Inception, CLIP, ...)."""

from iqa.features.base import FeatureExtractor
from iqa.features.registry import create_extractor, list_extractors, register_extractor

__all__ = ["FeatureExtractor", "create_extractor", "list_extractors", "register_extractor"]
