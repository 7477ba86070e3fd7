"""Explanations of metrics: FID sensitivity heatmaps and top-1 class views.

``sensitivity_maps`` works on tensors and feature statistics; ``explain_fid`` on two folders.
"""

from iqa.explain.classes import ClassHistograms, top1_histograms, top_classes
from iqa.explain.fid_explain import FIDExplanation, explain_fid
from iqa.explain.fid_sensitivity import Sensitivity, sensitivity_maps

__all__ = [
    "ClassHistograms",
    "FIDExplanation",
    "Sensitivity",
    "explain_fid",
    "sensitivity_maps",
    "top1_histograms",
    "top_classes",
]
