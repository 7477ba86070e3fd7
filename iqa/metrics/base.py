"""Base classes: per-image metrics (FR, NR) and distribution metrics.

A metric is an ``nn.Module`` that takes float NCHW tensors in ``[0, data_range]`` and returns one
score per image, shape ``(N,)``. It never reads files, picks a device or downloads anything; it
follows ``module.to(device)`` like any module. Options are keyword-only constructor arguments so
that ``iqa.create(name, **options)`` can check them against the signature.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import torch
from torch import nn

from iqa.checks import check_data_range
from iqa.registry import MetricSpec


class Metric(nn.Module):
    """Common behaviour: the spec, ``data_range`` and a readable repr of the options."""

    spec: ClassVar[MetricSpec]

    def __init__(self, *, data_range: float = 1.0) -> None:
        super().__init__()
        self.data_range = check_data_range(data_range)

    @classmethod
    def option_names(cls) -> list[str]:
        """Keyword options accepted by the constructor (what ``iqa.create`` validates against)."""
        params = inspect.signature(cls.__init__).parameters
        return [p for p, v in params.items() if p != "self" and v.kind is inspect.Parameter.KEYWORD_ONLY]

    def options(self) -> dict[str, Any]:
        """Current option values, for logs and output metadata."""
        return {k: getattr(self, k) for k in self.option_names() if hasattr(self, k)}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options().items())


class FRMetric(Metric):
    """Full-reference metric: ``metric(img, ref) -> (N,)``; ``img`` is the image being judged."""

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


class NRMetric(Metric):
    """No-reference metric: ``metric(img) -> (N,)``."""

    def forward(self, img: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError


class DistributionMetric(Metric):
    """Metric of two image sets: ``update(x, real=...)`` any number of times, then ``compute()``."""

    def update(self, x: torch.Tensor, *, real: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    def compute(self) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def reset(self) -> None:  # pragma: no cover
        raise NotImplementedError


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 stays float64; half and bfloat16 are computed in float32 (CPU kernels and accuracy)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32
