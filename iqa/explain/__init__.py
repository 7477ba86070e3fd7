"""Explanations of metrics: FID sensitivity heatmaps and top-1 class views."""

from iqa.explain.fid_sensitivity import Sensitivity, sensitivity_maps

__all__ = ["Sensitivity", "sensitivity_maps"]
