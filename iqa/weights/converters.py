"""Converters of released checkpoints into verified safetensors, by name: ``iqa weights convert NAME``.

A converter registers itself next to the network it converts (``iqa.models.*``) with
:func:`register_converter`: the function, one line of help, the command-line inputs it needs
(:class:`ConverterArg`) and how to use what it wrote. The CLI builds one subcommand per entry of
:data:`CONVERTERS` from those declarations, so adding a converter touches only its own module.
Every converter is called as ``convert(**inputs, out_dir=folder_or_None)`` and returns the paths it
wrote (each with its JSON record beside it, see :mod:`iqa.weights.converted`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from iqa.registry import Registry


@dataclass(frozen=True)
class ConverterArg:
    """One command-line input of a converter.

    Attributes:
        name: keyword of the converter function; an option is spelled ``--name`` (underscores as dashes).
        help: one line for ``--help``.
        kind: ``"file"`` or ``"dir"`` (an existing path) or ``"choice"`` (one of ``choices``).
        positional: an argument (``FILE``) rather than an option.
        required: must be given.
        choices: allowed values of a ``"choice"``.
        default: the value when not given.
        metavar: how the usage line names it (default: the name in capitals).
    """

    name: str
    help: str
    kind: Literal["file", "dir", "choice"] = "file"
    positional: bool = False
    required: bool = False
    choices: tuple[str, ...] = ()
    default: str | None = None
    metavar: str | None = None


@dataclass(frozen=True)
class Converter:
    """A registered converter.

    Attributes:
        name: the name after ``iqa weights convert``.
        convert: ``convert(**inputs, out_dir=...) -> list of written paths``.
        help: what it converts (first line: the summary in ``iqa weights convert --help``).
        args: the inputs it takes from the command line.
        usage: printed after a conversion, formatted with the inputs, e.g.
            ``"use it with iqa.create('tunet', variant='{variant}')"``.
    """

    name: str
    convert: Callable[..., list[Path]]
    help: str
    args: tuple[ConverterArg, ...] = ()
    usage: str = ""

    def run(self, inputs: Mapping[str, Any], out_dir: Path | None = None) -> list[Path]:
        """Call the converter with ``inputs`` (missing ones get their declared default)."""
        kwargs = {a.name: inputs.get(a.name, a.default) for a in self.args}
        return self.convert(**kwargs, out_dir=out_dir)


CONVERTERS: Registry[Converter] = Registry("weights converter")


def register_converter(converter: Converter) -> Converter:
    """Add ``converter`` to :data:`CONVERTERS` under its name (the same entry again is a no-op)."""
    return CONVERTERS.add(converter.name, converter)
