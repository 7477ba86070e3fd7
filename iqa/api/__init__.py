"""The public API: build metrics by name, score tensors/files/folders, turn metrics into losses."""

from iqa.api.comparison import compare
from iqa.api.core import MetricLoss, as_loss, create, get_spec, list_metrics
from iqa.api.scoring import score
from iqa.api.settings import RunSettings

__all__ = ["MetricLoss", "RunSettings", "as_loss", "compare", "create", "get_spec", "list_metrics", "score"]
