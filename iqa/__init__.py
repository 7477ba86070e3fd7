"""iqa: image-quality metrics for PyTorch behind one registry and one scoring API.

>>> import iqa
>>> m = iqa.create("ssim")          # doctest: +SKIP
>>> m(img, ref)                      # doctest: +SKIP  -> tensor of shape (N,)

Public names are imported lazily so that ``import iqa`` and ``iqa --help`` stay fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_API = {
    "create": "iqa.api",
    "list_metrics": "iqa.api",
    "get_spec": "iqa.api",
    "score": "iqa.api",
    "compare": "iqa.api",
    "as_loss": "iqa.api",
    "MetricLoss": "iqa.api",
    "RunSettings": "iqa.api",
    "MetricSpec": "iqa.registry",
    "register_metric": "iqa.registry",
    "WeightSpec": "iqa.weights",
    "read_image": "iqa.io",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iqa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
