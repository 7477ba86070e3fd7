"""Declared, typed metric options: read from the constructor signature, checked and coerced at the edge.

A metric declares its options as keyword-only constructor parameters: the annotation is the type
(``bool``, ``int``, ``float``, ``str``, ``Literal[...]`` for a closed set, ``X | None``, tuples, or a
class for injected objects), ``Annotated[int, Range(1)]`` adds bounds, the default is the default,
and the one-line doc is the entry under ``Args:`` in the class docstring. Nothing is written twice.

:func:`option_infos` turns that into :class:`OptionInfo` records (what ``iqa info`` prints), and
:func:`coerce_options` checks and converts values, text included (``"false"`` -> ``False``,
``"11"`` -> ``11``), so ``iqa.create("ssim", downsample="false")`` and ``--opt ssim.downsample=false``
mean the same thing, and ``downsample="maybe"`` is an error listing the allowed values.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Union

from iqa.errors import InputError, UnknownOptionError, did_you_mean

_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
_NONE = ("none", "null", "")


@dataclass(frozen=True)
class Range:
    """Bounds of a numeric option, used as ``Annotated[int, Range(1)]``.

    Attributes:
        min: smallest allowed value (None: unbounded).
        max: largest allowed value (None: unbounded).
        min_open: ``min`` itself is excluded.
        odd: the value must be odd (window sizes).
    """

    min: float | None = None
    max: float | None = None
    min_open: bool = False
    odd: bool = False

    def check(self, value: float) -> str | None:
        """None if ``value`` is allowed, else what is wrong (for the error message)."""
        if isinstance(value, float) and math.isnan(value):
            return "is NaN"
        if self.min is not None and (value <= self.min if self.min_open else value < self.min):
            return f"must be {'>' if self.min_open else '>='} {self.min}"
        if self.max is not None and value > self.max:
            return f"must be <= {self.max}"
        if self.odd and int(value) % 2 == 0:
            return "must be odd"
        return None

    def describe(self) -> str:
        lo = "" if self.min is None else f"{'>' if self.min_open else '>='} {self.min}"
        hi = "" if self.max is None else f"<= {self.max}"
        return ", ".join(p for p in (lo, hi, "odd" if self.odd else "") if p)


@dataclass(frozen=True)
class OptionInfo:
    """One declared option of a metric.

    Attributes:
        name: keyword name.
        type: the annotation with ``Annotated`` metadata removed.
        default: the default value.
        doc: one-line description from the class docstring.
        choices: allowed values of a ``Literal`` option, else None.
        range: numeric bounds, else None.
        text: whether the option can be given as text (CLI ``--opt``); injected objects cannot.
    """

    name: str
    type: Any
    default: Any
    doc: str
    choices: tuple[Any, ...] | None = None
    range: Range | None = None
    text: bool = True

    @property
    def type_name(self) -> str:
        """Readable type, e.g. ``int | None`` or ``'sum' | 'mult'``."""
        return _type_name(self.type)


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    if origin in (Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "None"
    if origin is tuple:
        return "tuple"
    return getattr(tp, "__name__", str(tp))


def _args_docs(cls: type) -> dict[str, str]:
    """``{name: first line}`` from the ``Args:`` sections of the class and ``__init__`` docstrings, base first."""
    out: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        fn = klass.__dict__.get("function")  # the pure function a metric class wraps documents its options
        fn = getattr(fn, "__func__", fn)
        init = klass.__dict__.get("__init__")
        for doc in (getattr(fn, "__doc__", None), klass.__dict__.get("__doc__"), getattr(init, "__doc__", None)):
            out.update(_parse_args(doc or ""))
    return out


def _parse_args(doc: str) -> dict[str, str]:
    lines = inspect.cleandoc(doc).splitlines()
    out: dict[str, str] = {}
    inside, indent = False, 0
    for line in lines:
        if re.match(r"^(Args|Arguments|Options):\s*$", line.strip()) and not line.startswith(" " * 8):
            inside, indent = True, len(line) - len(line.lstrip()) + 4
            continue
        if not inside:
            continue
        if line.strip() and len(line) - len(line.lstrip()) < indent:
            inside = False
            continue
        m = re.match(r"^\s*([a-zA-Z_][\w, ]*?)\s*(\([^)]*\))?:\s*(.*)$", line)
        if m and len(line) - len(line.lstrip()) == indent:
            for name in (n.strip() for n in m.group(1).split(",")):
                out[name] = m.group(3).strip()
    return out


_INFOS: dict[type, dict[str, OptionInfo]] = {}


def option_infos(cls: type) -> dict[str, OptionInfo]:
    """The declared options of a metric class, in signature order (read once per class)."""
    if cls not in _INFOS:
        _INFOS[cls] = _read_infos(cls)
    return _INFOS[cls]


def _read_infos(cls: type) -> dict[str, OptionInfo]:
    sig = inspect.signature(cls.__init__)  # type: ignore[misc]  # reading the signature of a class's constructor
    hints = typing.get_type_hints(cls.__init__, include_extras=True)  # type: ignore[misc]
    docs = _args_docs(cls)
    out: dict[str, OptionInfo] = {}
    for name, p in sig.parameters.items():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        tp, rng = _strip_annotated(hints.get(name, Any))
        choices = _choices(tp)
        out[name] = OptionInfo(name, tp, p.default, docs.get(name, ""), choices, rng, _textual(tp))
    return out


def _strip_annotated(tp: Any) -> tuple[Any, Range | None]:
    """The type without ``Annotated`` wrappers (also inside ``X | None``) and the first ``Range`` found."""
    if typing.get_origin(tp) is typing.Annotated:
        rng = next((a for a in tp.__metadata__ if isinstance(a, Range)), None)
        return typing.get_args(tp)[0], rng
    if typing.get_origin(tp) in (Union, types.UnionType):
        parts = [_strip_annotated(a) for a in typing.get_args(tp)]
        rng = next((r for _, r in parts if r is not None), None)
        return Union[tuple(p for p, _ in parts)], rng  # noqa: UP007 - built from a runtime tuple
    return tp, None


def _members(tp: Any) -> tuple[Any, ...]:
    return typing.get_args(tp) if typing.get_origin(tp) in (Union, types.UnionType) else (tp,)


def _choices(tp: Any) -> tuple[Any, ...] | None:
    lits = [a for m in _members(tp) if typing.get_origin(m) is Literal for a in typing.get_args(m)]
    return tuple(lits) if lits else None


def _textual(tp: Any) -> bool:
    simple = (bool, int, float, str, Path, type(None), Any)
    return all(m in simple or typing.get_origin(m) in (Literal, tuple) for m in _members(tp))


def coerce_options(metric: str, cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """Check names and convert values of ``options`` for ``cls``; errors name the metric and the fix.

    Raises:
        UnknownOptionError: a name the metric does not declare (with the closest one).
        InputError: a value of the wrong type, outside its range or not among its choices.
    """
    infos = option_infos(cls)
    unknown = [k for k in options if k not in infos]
    if unknown:
        hints = [f"{k!r}{did_you_mean(k, list(infos), fmt=' (did you mean {!r}?)')}" for k in unknown]
        raise UnknownOptionError(
            f"{metric} does not accept option(s) {', '.join(hints)}; valid options: {', '.join(infos)}"
        )
    return {k: coerce_value(metric, infos[k], v) for k, v in options.items()}


def coerce_value(metric: str, info: OptionInfo, value: Any) -> Any:
    """One value converted to ``info``'s type and checked against its choices and range."""
    where = f"{metric}: option {info.name}={value!r}"
    if info.type is Any:
        return value
    members = _members(info.type)
    errors: list[str] = []
    # A value that already has one of the types wins over a conversion (a str path stays a str).
    for m in sorted(members, key=lambda m: 0 if _is_instance(value, m) else 1):
        try:
            out = _convert(value, m)
        except (TypeError, ValueError) as e:
            errors.append(str(e))
            continue
        if info.range is not None and isinstance(out, (int, float)) and not isinstance(out, bool):
            problem = info.range.check(out)
            if problem:
                raise InputError(f"{where} {problem} (allowed: {info.range.describe()})")
        return out
    if info.choices:
        allowed = ", ".join(repr(c) for c in info.choices) + (", None" if type(None) in members else "")
    elif bool in members:
        allowed = "true, false" + (", none" if type(None) in members else "")
    else:
        allowed = info.type_name
    raise InputError(f"{where} is not valid: allowed values: {allowed}")


def _is_instance(value: Any, tp: Any) -> bool:
    if tp is type(None):
        return value is None
    if typing.get_origin(tp) is Literal:
        return any(value == a and type(value) is type(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return isinstance(value, tuple)
    if tp is float:
        return isinstance(value, float)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(tp, type) and isinstance(value, tp)


def _convert(value: Any, tp: Any) -> Any:  # noqa: C901 - one branch per supported annotation
    origin = typing.get_origin(tp)
    text = value.strip() if isinstance(value, str) else None
    if tp is type(None):
        if value is None or (text is not None and text.lower() in _NONE):
            return None
        raise ValueError("not None")
    if origin is Literal:
        for a in typing.get_args(tp):
            if value == a or (text is not None and str(a) == text):
                return a
        raise ValueError("not among the choices")
    if tp is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in _TRUE + _FALSE:
            return text.lower() in _TRUE
        raise ValueError("expected true or false")
    if tp is int:
        if isinstance(value, bool):
            raise TypeError("a bool is not an int")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if text is not None and re.fullmatch(r"[+-]?\d+", text):
            return int(text)
        if hasattr(value, "__index__"):
            return int(value.__index__())
        raise ValueError("expected an integer")
    if tp is float:
        if isinstance(value, bool):
            raise TypeError("a bool is not a number")
        if isinstance(value, (int, float)) or hasattr(value, "__float__") and text is None:
            return float(value)
        if text is not None:
            return float(text)
        raise ValueError("expected a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError("expected text")
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise TypeError("expected a path")
    if origin is tuple:
        seq = ast.literal_eval(text) if text is not None else value
        if not isinstance(seq, (tuple, list)):
            raise TypeError("expected a sequence")
        args = typing.get_args(tp)
        item = args[0] if args else Any
        return tuple(_convert(v, item) if item is not Any else v for v in seq)
    if tp is Any:
        return value
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise TypeError(f"expected a {tp.__name__}")
    return value
