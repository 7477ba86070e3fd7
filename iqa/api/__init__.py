"""The public API: build metrics by name, score tensors/files/folders, turn metrics into losses."""

from iqa.api.comparison import compare
from iqa.api.core import MetricLoss, as_loss, create, get_spec, list_metrics
from iqa.api.scoring import score

__all__ = ["MetricLoss", "compare", "as_loss", "create", "get_spec", "list_metrics", "score"]
