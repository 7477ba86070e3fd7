"""The metric registry: one frozen :class:`MetricSpec` per registered metric class.

The registry imports no metric; :mod:`iqa.metrics` imports every metric module, which registers
itself with :func:`register_metric`. Generic code reads behaviour from the spec, never from the
metric's name.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Generic, Literal, TypeVar

from iqa.errors import (
    DuplicateMetricError,
    DuplicateNameError,
    InputError,
    UnknownMetricError,
    close_matches,
    did_you_mean,
)
from iqa.types import ColorHandling, MetricKind

_KINDS = ("fr", "nr", "text", "dist")
_COLORS = ("y", "rgb", "gray", "any")

#: Networks a metric can be built with when its released weights are not on the machine: the
#: release's architecture with seeded random weights, or, where the released network is too costly
#: to run the whole contract on a CPU (``*_small_*``, ``*_on_noise``), the same layers at a reduced
#: size with the last layer fitted to noise levels. They check the plumbing; the scores mean
#: nothing. Parity with the release's architecture is each metric's own test.
StandIn = Literal[
    "imagenet_alexnet_trunk",
    "imagenet_vgg16_dists_trunk",
    "tanet_release",
    "contrique_encoder",
    "quality_head_on_noise",
    "arniqa_small_on_noise",
    "hyperiqa_on_noise",
    "nima_small_trunk",
    "paq2piq_on_noise",
    "maniqa_small_on_noise",
    "topiq_small_on_noise",
    "musiq_small_on_noise",
    "pieapp_on_noise",
    "clip_small_text",
    "pickscore_small_text",
    "dbcnn_on_noise",
    "liqe_small_on_noise",
    "laion_aes_small_on_noise",
    "clipiqa_small_on_noise",
]


@dataclass(frozen=True)
class OfflineBuild:
    """How to build a metric on a machine that cannot download its weights (tests, CI, air-gapped runs).

    Attributes:
        files: ``(option, path)`` pairs: the constructor option that takes a released file, and its
            path under the shared weights folder (``../shared/weights``).
        stand_ins: ``(option, stand_in)`` pairs: the constructor option that takes a network of the
            release's architecture and which :data:`StandIn` to build for it.
    """

    files: tuple[tuple[str, str], ...] = ()
    stand_ins: tuple[tuple[str, StandIn], ...] = ()


@dataclass(frozen=True)
class MetricSpec:
    """Typed, immutable description of a metric.

    Attributes:
        name: registry name (lower case, ``[a-z0-9_]``).
        kind: ``"fr"`` (full-reference), ``"nr"`` (no-reference), ``"text"`` (an image scored
            against a prompt) or ``"dist"`` (distribution).
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
        identity_fixed: False where identical inputs have no fixed score at all (a learned head that
            also reads the reference's own features, e.g. TOPIQ-FR): the contract then checks that
            they score in range and better than a heavily distorted copy.
        noise_monotone_from: the additive-noise level (sigma, [0, 1] images) from which scores worsen
            monotonically (NR statistics can stay flat below an image's own texture).
        offline: how the registry contract builds the metric without a download (None: ``iqa.create``
            with its defaults works offline).
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
    identity_fixed: bool = True
    noise_monotone_from: float = 0.01
    offline: OfflineBuild | None = None

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
        if self.offline is not None:
            d["offline"] = {k: [list(pair) for pair in v] for k, v in d["offline"].items()}
        return d


def _json_float(v: float) -> float | str:
    return v if math.isfinite(v) else ("inf" if v > 0 else "-inf")


V = TypeVar("V")


class Registry(Generic[V]):
    """Name -> entry, the one registry shape of iqa (metrics, extractors, datasets, distortions, converters).

    Names are lower case; a duplicate name with another entry raises; unknown names raise with the
    closest names (one "did you mean" rule for the whole package).

    Args:
        what: what the entries are, for messages ("metric", "feature extractor", ...).
        error: the exception type for unknown names (called with the message).
    """

    def __init__(self, what: str, error: Callable[[str], Exception] = InputError) -> None:
        self.what = what
        self.error = error
        self._entries: dict[str, V] = {}

    def add(self, name: str, entry: V) -> V:
        """Register ``entry`` as ``name`` (the same entry again is a no-op)."""
        key = name.strip().lower()
        if key in self._entries and self._entries[key] is not entry and self._entries[key] != entry:
            raise DuplicateNameError(f"{self.what} {key!r} is already registered ({self._entries[key]!r})")
        self._entries[key] = entry
        return entry

    def get(self, name: str) -> V:
        """The entry of ``name``; unknown names raise ``error`` naming the closest ones."""
        if not isinstance(name, str):
            raise InputError(f"{self.what} name must be a string, got {type(name).__name__}")
        key = name.strip().lower()
        if key not in self._entries:
            hint = did_you_mean(key, list(self._entries), fmt=" Did you mean {!r}?")
            raise self.error(f"unknown {self.what} {name!r}.{hint} Known: {', '.join(self.names())}")
        return self._entries[key]

    def names(self, pattern: str | None = None) -> list[str]:
        """Registered names, naturally sorted, filtered by an fnmatch pattern."""
        names = [n for n in self._entries if not pattern or fnmatch.fnmatchcase(n, pattern.lower())]
        return sorted(names, key=_natural_key)

    def items(self) -> list[tuple[str, V]]:
        return [(n, self._entries[n]) for n in self.names()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._entries

    def __len__(self) -> int:
        return len(self._entries)


_REGISTRY: dict[str, type[Any]] = {}
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


def get_metric_class(name: str) -> type[Any]:
    """Return the class registered as ``name``; unknown names raise with close matches."""
    if not isinstance(name, str):
        raise InputError(f"metric name must be a string, got {type(name).__name__}")
    key = name.strip().lower()
    if key not in _REGISTRY:
        raise UnknownMetricError(name, close_matches(key, list(_REGISTRY)))
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
