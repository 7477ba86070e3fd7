"""``create``, ``list_metrics``, ``get_spec`` and ``as_loss``."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import iqa.metrics  # noqa: F401  (fills the registry)
from iqa.checks import LOSS_TOLERANCE, loss_input
from iqa.errors import InputError
from iqa.metrics.base import FRMetric, Metric, NRMetric
from iqa.registry import MetricSpec, get_metric_class, registered_names


def list_metrics(kind: str | None = None, pattern: str | None = None) -> list[str]:
    """Registered metric names, naturally sorted.

    Args:
        kind: ``"fr"``, ``"nr"`` or ``"dist"`` to filter, None for all.
        pattern: fnmatch pattern such as ``"ssim*"``.
    """
    return registered_names(kind=kind, pattern=pattern)


def metric_class(name: str) -> type[Metric]:
    """The class registered as ``name`` (unknown names suggest close matches)."""
    cls = get_metric_class(name)
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        raise InputError(f"{name!r} is registered with {cls!r}, which is not an iqa metric class")
    return cls


def get_spec(name: str) -> MetricSpec:
    """The frozen :class:`MetricSpec` of a metric (unknown names suggest close matches)."""
    return metric_class(name).spec


def create(name: str, **options: Any) -> Metric:
    """Build a metric by name with keyword options, e.g. ``create("ssim", data_range=255)``.

    Options are checked and coerced by their declared types (``downsample="false"`` -> False).

    Raises:
        UnknownMetricError: unknown name (with suggestions).
        UnknownOptionError: an option the metric does not take (lists the valid ones).
        InputError: a value of the wrong type, outside its range or not among its allowed values.
    """
    return metric_class(name)(**options)  # the constructor checks and coerces every option (iqa.options)


class MetricLoss(nn.Module):
    """A differentiable metric as a loss: lower is better, whatever the metric's direction.

    ``loss = -score`` for higher-is-better metrics and ``score`` otherwise, reduced by
    ``reduction`` ("mean", "sum" or "none").

    Inputs may overshoot ``[0, data_range]`` by up to ``overshoot`` x data_range (default 0.25), as
    a network's output does during training: such values are clamped with a straight-through
    gradient (:func:`iqa.checks.loss_input`). Values further out raise :class:`InputError`. The
    metric called directly still refuses any value outside the range.
    """

    def __init__(self, metric: Metric, reduction: str = "mean", overshoot: float = LOSS_TOLERANCE) -> None:
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise InputError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        if not 0 <= overshoot < 1:
            raise InputError(f"overshoot must be in [0, 1) (a fraction of data_range), got {overshoot!r}")
        self.metric = metric
        self.reduction = reduction
        self.overshoot = overshoot
        self.sign = -1.0 if metric.spec.higher_is_better else 1.0

    def forward(self, img: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
        dr = self.metric.data_range
        img = loss_input(img, "img", dr, self.overshoot)
        ref = None if ref is None else loss_input(ref, "ref", dr, self.overshoot)
        if isinstance(self.metric, FRMetric):
            if ref is None:
                raise InputError(f"{self.metric.spec.name} is full-reference: call loss(img, ref)")
            s = self.metric(img, ref)
        elif isinstance(self.metric, NRMetric):
            if ref is not None:
                raise InputError(f"{self.metric.spec.name} is no-reference: call loss(img)")
            s = self.metric(img)
        else:
            raise InputError(f"{self.metric.spec.name} is a distribution metric and cannot be a per-image loss")
        s = self.sign * s
        if self.reduction == "mean":
            return s.mean()
        return s.sum() if self.reduction == "sum" else s


def as_loss(
    metric: str | Metric, reduction: str = "mean", *, overshoot: float = LOSS_TOLERANCE, **options: Any
) -> MetricLoss:
    """Wrap a differentiable metric (instance or name plus options) as a loss to minimise.

    ``overshoot``: how far outside ``[0, data_range]`` values are clamped (straight-through
    gradient) rather than refused, as a fraction of data_range (see :class:`MetricLoss`); 0
    refuses any overshoot.

    Raises:
        InputError: the metric is not differentiable.
    """
    m = create(metric, **options) if isinstance(metric, str) else metric
    if not isinstance(m, Metric):
        raise InputError(f"as_loss needs a metric name or an iqa metric, got {type(m).__name__}")
    if not m.spec.differentiable:
        raise InputError(f"{m.spec.name} is not differentiable, so it cannot be used as a loss")
    return MetricLoss(m, reduction, overshoot)
