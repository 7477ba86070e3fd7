"""Base classes and the declared contracts generic code relies on.

A metric is an ``nn.Module`` that takes float NCHW tensors in ``[0, data_range]``. Per-image metrics
(:class:`FRMetric`, :class:`NRMetric`, and :class:`TextImageMetric`, which scores each image
against its own prompt) return one score per image, shape ``(N,)``. Distribution
metrics (:class:`DistributionMetric`) accumulate two sets and return a :class:`DistributionResult`.
A metric never reads files, picks a device or downloads anything on its own; it follows
``module.to(device)`` and the device of its input.

Options are keyword-only constructor parameters, declared once by their annotations, defaults and
the ``Args:`` docstring (:mod:`iqa.options`). Every constructor is wrapped so that values are
checked and coerced before it runs, whether the metric is built by ``iqa.create``, the CLI or
directly: ``SSIM(downsample="false").downsample is False``.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

import torch
from torch import nn

from iqa.checks import check_data_range
from iqa.errors import InputError
from iqa.options import OptionInfo, Range, coerce_options, option_infos
from iqa.registry import MetricSpec

if TYPE_CHECKING:
    from iqa.features.base import FeatureExtractor
    from iqa.stats import GaussianStats

DataRange = Annotated[float, Range(0.0, min_open=True)]


class Metric(nn.Module):
    """Common behaviour: the spec, ``data_range``, declared options and their report.

    Args:
        data_range: value of white in the input (1.0 for images in [0, 1], 255 for [0, 255]).
    """

    spec: ClassVar[MetricSpec]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None and not getattr(init, "_iqa_coerces", False):
            cls.__init__ = _coercing(cls, init)  # type: ignore[method-assign]

    def __init__(self, *, data_range: DataRange = 1.0) -> None:
        super().__init__()
        self.data_range = check_data_range(data_range)

    @classmethod
    def declared_options(cls) -> dict[str, OptionInfo]:
        """Every option with its type, default, allowed values or range and one-line doc."""
        return option_infos(cls)

    @classmethod
    def option_names(cls) -> list[str]:
        """Names of the declared options (what ``iqa.create`` accepts)."""
        return list(option_infos(cls))

    def options(self) -> dict[str, Any]:
        """Current value of every declared option under its own name, for logs, resume keys and reports.

        Injected objects (a network, an extractor) are reported by what identifies them.
        """
        out = {}
        for name, info in option_infos(type(self)).items():
            value = getattr(self, name, info.default)
            out[name] = value if info.text or value is None else _describe(value)
        return out

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.options().items())


def _describe(value: Any) -> str:
    key = getattr(value, "cache_key", None)
    return str(key()) if callable(key) else f"<{type(value).__name__}>"


def _coercing(cls: type, init: Any) -> Any:
    @functools.wraps(init)
    def __init__(self: Metric, *args: Any, **options: Any) -> None:
        if args:
            raise TypeError(f"{cls.__name__} takes keyword options only, e.g. {cls.__name__}(data_range=255)")
        spec = getattr(cls, "spec", None)
        init(self, **coerce_options(spec.name if spec else cls.__name__, cls, options))

    __init__._iqa_coerces = True  # type: ignore[attr-defined]
    return __init__


class FRMetric(Metric):
    """Full-reference metric: ``metric(img, ref) -> (N,)``; ``img`` is the image being judged."""

    def forward(self, img: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


class NRMetric(Metric):
    """No-reference metric: ``metric(img) -> (N,)``."""

    def forward(self, img: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError


LongPrompts = Literal["truncate", "refuse"]


class PromptTruncatedWarning(UserWarning):
    """A prompt longer than a text tower's context was cut to fit (see :class:`TextImageMetric`)."""


class TextImageMetric(Metric):
    """Text-image metric (registry kind ``"text"``): ``metric(img, text) -> (N,)``, image i scored against ``text[i]``.

    A text tower and an image tower score each (image, prompt) pair; a score never depends on the
    other pairs of the batch. ``refs`` (optional, where the metric takes them): reference captions
    per image, e.g. RefCLIPScore. ``text`` may be one string for a batch of one image.

    Long prompts: a tokenised prompt (the metric's own prefix, start and end tokens included) longer
    than :attr:`context_length` is truncated as the reference does and reported, never silently:
    ``long_prompts="truncate"`` (default) warns with :class:`PromptTruncatedWarning` (folder jobs
    flag the row instead), ``"refuse"`` raises an :class:`~iqa.errors.InputError` naming the prompt.

    Subclasses implement :meth:`token_counts` and :meth:`score_pairs`; :meth:`forward` checks the
    inputs and the prompt lengths, then calls :meth:`score_pairs`.

    Attributes:
        context_length: tokens the text tower reads (CLIP: 77).
        takes_refs: whether the metric uses reference captions.
    """

    context_length: ClassVar[int] = 77
    takes_refs: ClassVar[bool] = False
    long_prompts: LongPrompts = "truncate"

    def forward(
        self, img: torch.Tensor, text: str | Sequence[str], refs: Sequence[Sequence[str]] | None = None
    ) -> torch.Tensor:
        texts, refs = self.check_pairs(img, text, refs)
        overflow = self.prompt_overflow(texts, refs)
        cut = [t for t, o in zip(texts, overflow) if o]
        if cut:
            warnings.warn(
                f"{self._name()}: {len(cut)} of {len(texts)} prompts are longer than {self.context_length} tokens and "
                f"were truncated, e.g. {_shorten(cut[0])!r}; pass long_prompts='refuse' to refuse them instead",
                PromptTruncatedWarning,
                stacklevel=2,
            )
        return self.score_pairs(img, texts, refs)

    def check_pairs(
        self, img: torch.Tensor, text: str | Sequence[str], refs: Sequence[Sequence[str]] | None = None
    ) -> tuple[list[str], list[list[str]] | None]:
        """One prompt (and, with ``refs``, one non-empty list of references) per image, as lists.

        Raises:
            InputError: no prompts, a non-string prompt, counts that differ from the images, or
                references given to a metric that takes none.
        """
        name = self._name()
        if text is None:
            raise InputError(f"{name} scores images against prompts: pass text=[one prompt per image]")
        texts = [text] if isinstance(text, str) else list(text)
        bad = next((t for t in texts if not isinstance(t, str)), None)
        if bad is not None:
            raise InputError(f"{name}: prompts must be strings, got {type(bad).__name__} ({bad!r})")
        n = img.shape[0] if isinstance(img, torch.Tensor) and img.ndim == 4 else None
        if n is not None and len(texts) != n:
            raise InputError(f"{name}: got {n} images but {len(texts)} prompts; give exactly one prompt per image")
        if refs is None:
            return texts, None
        if not self.takes_refs:
            raise InputError(f"{name} takes no reference captions; do not pass refs")
        if isinstance(refs, str):
            raise InputError(f"{name}: refs is one list of reference captions per image, got one string")
        out = [[r] if isinstance(r, str) else list(r) for r in refs]
        if len(out) != len(texts):
            raise InputError(f"{name}: got {len(texts)} prompts but {len(out)} lists of reference captions")
        for i, r in enumerate(out):
            if not r or not all(isinstance(c, str) for c in r):
                raise InputError(f"{name}: references of image {i} must be a non-empty list of strings, got {r!r}")
        return texts, out

    def prompt_overflow(self, texts: Sequence[str], refs: Sequence[Sequence[str]] | None = None) -> list[bool]:
        """Per pair, whether its prompt (or one of its references) will be truncated.

        Raises:
            InputError: under ``long_prompts="refuse"``, naming the first prompt that is too long.
        """
        counts = self.token_counts(list(texts))
        over = [c > self.context_length for c in counts]
        if refs is not None:
            for i, r in enumerate(refs):
                over[i] = over[i] or any(c > self.context_length for c in self.token_counts(list(r)))
        if self.long_prompts == "refuse" and any(over):
            i = over.index(True)
            what = f"takes {counts[i]} tokens" if counts[i] > self.context_length else "has a reference caption"
            raise InputError(
                f"{self._name()}: prompt {_shorten(texts[i])!r} {what}, more than the text tower's "
                f"{self.context_length}; shorten it, or pass long_prompts='truncate' to cut it as the reference does"
            )
        return over

    def token_counts(self, texts: list[str]) -> list[int]:  # pragma: no cover - abstract
        """Tokens each prompt takes before truncation (the metric's prefix, start and end tokens included)."""
        raise NotImplementedError

    def score_pairs(
        self, img: torch.Tensor, texts: list[str], refs: list[list[str]] | None
    ) -> torch.Tensor:  # pragma: no cover - abstract
        """Scores of checked pairs, (N,); long prompts truncated without a warning (the caller reports them)."""
        raise NotImplementedError

    def _name(self) -> str:
        spec = getattr(type(self), "spec", None)
        return spec.name if spec is not None else type(self).__name__


def _shorten(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass(frozen=True)
class DistributionResult:
    """What a distribution metric reports: the value plus its companions.

    ``float(result)`` and ``f"{result:.3f}"`` give the value.

    Attributes:
        value: the metric (e.g. FID).
        extras: other reported numbers by suffix, e.g. ``{"std": 0.0012}`` for KID's subset spread.
        n_real: images (or feature rows) in the real / reference set (None when unknown).
        n_fake: images in the generated set.
    """

    value: float
    extras: Mapping[str, float] = field(default_factory=dict)
    n_real: int | None = None
    n_fake: int | None = None

    def __float__(self) -> float:
        return float(self.value)

    def __format__(self, spec: str) -> str:
        return format(float(self.value), spec)

    def as_dict(self, name: str) -> dict[str, float]:
        """``{name: value, name_std: ..., ...}`` for tables and JSON."""
        return {name: float(self.value), **{f"{name}_{k}": float(v) for k, v in self.extras.items()}}


class DistributionMetric(Metric):
    """Metric of two image sets, the real (reference) set and the generated one.

    The contract generic code uses (``iqa.compare`` uses nothing else):

    - ``update(x, real=...)``: images (N, 3, H, W) in [0, data_range];
    - ``update_features(f, real=...)``: precomputed features (N, dim) of :attr:`extractor`;
    - ``update_stats(stats, real=...)``: a set summarised by mean and covariance (Frechet metrics
      merge them exactly; the others need features and refuse with a clear error);
    - ``set_reference(...)``: fix the real side (statistics, features or a file of either);
    - ``compute()``: a :class:`DistributionResult`; ``reset()``: forget both sets.

    ``real`` is keyword-only everywhere, so the two sets cannot be swapped by position. State
    lives on the device of the inputs (float64 there); under ``torch.distributed`` ``compute()``
    gathers every rank's state.

    Attributes:
        extractor: the feature extractor whose features ``update_features`` takes; metrics that
            share an extractor (same ``cache_key()``) can share its features.
        uses_real: False for a one-sided metric that scores the generated set alone (IS, Vendi):
            it takes the real side in every form and ignores it, and its ``compute()`` reports
            ``n_real=None`` (:class:`~iqa.metrics.distribution.GeneratedSetMetric`).
    """

    extractor: FeatureExtractor
    uses_real: ClassVar[bool] = True

    def update(self, x: torch.Tensor, *, real: bool) -> None:  # pragma: no cover - abstract
        """Add a batch of images (N, 3, H, W) in [0, data_range] to the real or generated set."""
        raise NotImplementedError

    def update_features(self, features: torch.Tensor, *, real: bool) -> None:  # pragma: no cover - abstract
        """Add precomputed features (N, dim) of the metric's extractor to one set."""
        raise NotImplementedError

    def update_stats(self, stats: GaussianStats, *, real: bool) -> None:
        """Add a set summarised by its mean and covariance (e.g. read from an ``.npz``).

        Raises:
            InputError: the metric needs the features themselves (kernel and k-NN metrics).
        """
        raise InputError(self._stats_refusal())

    def set_reference(self, reference: GaussianStats | torch.Tensor | str | Path) -> None:
        """Fix the real side; later ``update(..., real=True)`` calls are refused until ``reset()``.

        Args:
            reference: statistics (:class:`~iqa.stats.GaussianStats`, or an ``.npz`` path) for metrics
                that can use them, or features (N, dim) of :attr:`extractor` (a tensor or an ``.npy`` path).
        """
        raise InputError(f"{self._name()} cannot take a precomputed reference; give the real images")

    def compute(self) -> DistributionResult:  # pragma: no cover - abstract
        """The metric between the accumulated sets."""
        raise NotImplementedError

    def reset(self) -> None:  # pragma: no cover - abstract
        """Forget both sets (a fixed reference included)."""
        raise NotImplementedError

    def _name(self) -> str:
        spec = getattr(type(self), "spec", None)
        return spec.name if spec is not None else type(self).__name__

    def _stats_refusal(self) -> str:
        name = self._name()
        return (
            f"mean/covariance statistics (.npz) only work with Frechet metrics; {name} needs the features "
            "themselves: give images, an image folder or .npy features"
        )


def compute_dtype(x: torch.Tensor) -> torch.dtype:
    """float64 stays float64; half and bfloat16 are computed in float32 (CPU kernels and accuracy)."""
    return torch.float64 if x.dtype == torch.float64 else torch.float32
