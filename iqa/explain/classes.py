"""Top-1 class views: which classifier classes an image set falls into (Kynkaanniemi et al., ICLR 2023).

FID's feature space is tied to ImageNet classes; comparing the top-1 class histograms of the real
and generated sets shows how much of a FID gap is a class-distribution gap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from iqa.errors import InputError
from iqa.features.base import FeatureExtractor


def class_probabilities(extractor: FeatureExtractor, features: torch.Tensor) -> torch.Tensor:
    """softmax(logits) from pooled features (N, dim) -> (N, classes), float64."""
    with torch.no_grad():
        logits = extractor.logits(features.to(torch.float32))
    return torch.softmax(logits.to(torch.float64), dim=1)


def top_classes(probs: torch.Tensor, names: list[str] | None, k: int = 5) -> list[list[tuple[str, float]]]:
    """Per image the k most probable classes as (name, probability)."""
    p, idx = probs.topk(min(k, probs.shape[1]), dim=1)
    label = (lambda i: names[i]) if names else (lambda i: f"class {i}")
    return [[(label(int(i)), float(q)) for q, i in zip(pr, ix)] for pr, ix in zip(p, idx)]


@dataclass
class ClassHistograms:
    """Top-1 class counts of two sets over the union of their classes (sorted by total count)."""

    classes: list[int]
    names: list[str]
    counts_a: np.ndarray
    counts_b: np.ndarray

    @property
    def total_variation(self) -> float:
        """Half the L1 distance between the two normalised histograms, in [0, 1]."""
        pa, pb = self.counts_a / max(self.counts_a.sum(), 1), self.counts_b / max(self.counts_b.sum(), 1)
        return float(0.5 * np.abs(pa - pb).sum())

    @property
    def overlap(self) -> float:
        """Fraction of the two histograms' mass they share (1 - total variation)."""
        return 1.0 - self.total_variation


def top1_histograms(
    top1_a: np.ndarray, top1_b: np.ndarray, names: list[str] | None = None, weights_b: np.ndarray | None = None
) -> ClassHistograms:
    """Histograms of top-1 class indices of set a and set b (optionally weighted, for resampling)."""
    top1_a, top1_b = np.asarray(top1_a), np.asarray(top1_b)
    if top1_a.size == 0 or top1_b.size == 0:
        raise InputError("top-1 histograms need at least one image in each set")
    wb = np.ones(len(top1_b)) if weights_b is None else np.asarray(weights_b, dtype=np.float64)
    classes = np.union1d(top1_a, top1_b)
    ca = np.array([(top1_a == c).sum() for c in classes], dtype=np.float64)
    cb = np.array([wb[top1_b == c].sum() for c in classes], dtype=np.float64)
    cb *= len(top1_b) / max(wb.sum(), 1e-300)  # weighted counts on the scale of the set size
    order = np.argsort(-(ca / ca.sum() + cb / max(cb.sum(), 1e-300)), kind="stable")
    cls = [int(c) for c in classes[order]]
    label = [names[c] if names else f"class {c}" for c in cls]
    return ClassHistograms(cls, label, ca[order], cb[order])
