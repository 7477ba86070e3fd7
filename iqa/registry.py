"""The metric registry: one frozen :class:`MetricSpec` per registered metric class.

The registry imports no metric; :mod:`iqa.metrics` imports every metric module, which registers
itself with :func:`register_metric`. Generic code reads behaviour from the spec, never from the
metric's name.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

from iqa.errors import DuplicateMetricError, InputError, UnknownMetricError
from iqa.types import ColorHandling, MetricKind

_KINDS = ("fr", "nr", "dist")
_COLORS = ("y", "rgb", "gray", "any")


@dataclass(frozen=True)
class MetricSpec:
    """Typed, immutable description of a metric.

    Attributes:
        name: registry name (lower case, ``[a-z0-9_]``).
        kind: ``"fr"`` (full-reference), ``"nr"`` (no-reference) or ``"dist"`` (distribution).
        higher_is_better: direction of the score.
        value_range: (low, high) of the score; ``math.inf`` for unbounded.
        differentiable: gradients flow to the inputs (``iqa.as_loss`` accepts it).
        color: how colour is handled (``"y"``, ``"rgb"``, ``"gray"``, ``"any"``).
        paper: citation of the method.
        reference_impl: the implementation whose numbers this one reproduces.
        tolerance: calibration tolerance against ``reference_impl`` and why.
        weights: ids in the weights manifest this metric needs.
        min_size: smallest image side the metric accepts (after any internal downsampling rule).
        summary: one line for ``iqa list``.
        identity_value: the score of identical inputs when it is not ``best_value`` (VIF: 1, while
            contrast enhancement scores above 1); None means ``best_value``.
        identity_is_head_intercept: identical inputs give the learned head's intercept (a regressor on
            feature differences), so no fixed value can be declared.
        noise_monotone_from: the additive-noise level (sigma, [0, 1] images) from which scores worsen
            monotonically (NR statistics can stay flat below an image's own texture).
    """

    name: str
    kind: MetricKind
    higher_is_better: bool
    value_range: tuple[float, float]
    differentiable: bool
    color: ColorHandling
    paper: str
    reference_impl: str
    tolerance: str
    weights: tuple[str, ...] = ()
    min_size: int = 1
    summary: str = ""
    identity_value: float | None = None
    identity_is_head_intercept: bool = False
    noise_monotone_from: float = 0.01

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]*", self.name):
            raise InputError(f"metric name {self.name!r} must match [a-z][a-z0-9_]*")
        if self.kind not in _KINDS:
            raise InputError(f"{self.name}: kind must be one of {_KINDS}, got {self.kind!r}")
        if self.color not in _COLORS:
            raise InputError(f"{self.name}: color must be one of {_COLORS}, got {self.color!r}")
        lo, hi = self.value_range
        if not lo < hi:
            raise InputError(f"{self.name}: value_range {self.value_range} must be increasing")

    @property
    def best_value(self) -> float:
        """The best attainable score (``value_range`` end in the direction of quality)."""
        return self.value_range[1] if self.higher_is_better else self.value_range[0]

    @property
    def identity(self) -> float:
        """The score of two identical images (``identity_value`` or ``best_value``)."""
        return self.best_value if self.identity_value is None else self.identity_value

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict (infinities as strings)."""
        d = asdict(self)
        d["value_range"] = [_json_float(v) for v in self.value_range]
        d["weights"] = list(self.weights)
        return d


def _json_float(v: float) -> float | str:
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")


_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register_metric(spec: MetricSpec) -> Callable[[T], T]:
    """Class decorator: attach ``spec`` to the metric class and register it by ``spec.name``."""

    def deco(cls: T) -> T:
        if spec.name in _REGISTRY and _REGISTRY[spec.name] is not cls:
            raise DuplicateMetricError(
                f"metric {spec.name!r} is already registered by {_REGISTRY[spec.name].__module__}"
            )
        cls.spec = spec  # type: ignore[attr-defined]
        _REGISTRY[spec.name] = cls
        return cls

    return deco


def get_metric_class(name: str) -> type:
    """Return the class registered as ``name``; unknown names raise with close matches."""
    if not isinstance(name, str):
        raise InputError(f"metric name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _REGISTRY:
        raise UnknownMetricError(name, difflib.get_close_matches(key, list(_REGISTRY), n=3, cutoff=0.5))
    return _REGISTRY[key]


def _natural_key(s: str) -> list[Any]:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def registered_names(kind: str | None = None, pattern: str | None = None) -> list[str]:
    """Registered names, naturally sorted, filtered by kind and an fnmatch pattern."""
    if kind is not None and kind not in _KINDS:
        raise InputError(f"kind must be one of {_KINDS} or None, got {kind!r}")
    names = [n for n, c in _REGISTRY.items() if kind is None or c.spec.kind == kind]
    if pattern:
        names = [n for n in names if fnmatch.fnmatchcase(n, pattern.lower())]
    return sorted(names, key=_natural_key)
