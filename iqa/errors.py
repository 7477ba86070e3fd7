"""Exception hierarchy.

Every error raised on purpose by ``iqa`` derives from :class:`IQAError` *and* from the builtin
exception a caller would already catch (``ValueError``, ``KeyError``, ``OSError``...), so both
``except iqa.errors.IQAError`` and ``except ValueError`` work. Messages say what was wrong,
show the offending value, and say how to fix it.
"""

from __future__ import annotations

import difflib


def close_matches(word: str, candidates: list[str] | tuple[str, ...], n: int = 3) -> list[str]:
    """The candidates closest to ``word`` (difflib, cutoff 0.5): the one "did you mean" rule of iqa."""
    return difflib.get_close_matches(word.strip().lower(), list(candidates), n=n, cutoff=0.5)


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...], fmt: str = " Did you mean {!r}?") -> str:
    """``fmt`` filled with the closest candidate, or an empty string when none is close."""
    close = close_matches(word, candidates, n=1)
    return fmt.format(close[0]) if close else ""


class IQAError(Exception):
    """Base class of every error raised deliberately by iqa."""


class InputError(IQAError, ValueError):
    """An argument has a wrong value (range, dtype, option...)."""


class ShapeError(InputError):
    """A tensor has the wrong number of dimensions, channels or size."""


class UnknownMetricError(IQAError, KeyError):
    """A metric name is not registered. Carries close-match suggestions."""

    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"unknown metric {name!r}.{hint} See `iqa list` or iqa.list_metrics().")

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class UnknownOptionError(IQAError, TypeError):
    """An option passed to ``iqa.create`` is not accepted by the metric."""


class DuplicateNameError(IQAError, ValueError):
    """Two entries were registered under the same name in one registry."""


class DuplicateMetricError(DuplicateNameError):
    """Two metrics were registered under the same name."""


class ImageReadError(IQAError, OSError):
    """A file could not be read or decoded as an image. The message names the file."""


class ImageTooLargeError(ImageReadError):
    """An image exceeds the decompression-bomb pixel limit."""


class PairingError(InputError):
    """Distorted and reference files could not be paired."""


class WeightsError(IQAError, OSError):
    """Base class for pretrained-weight problems."""


class WeightsNotFoundError(WeightsError, FileNotFoundError):
    """A weights file is not available locally and could not be downloaded."""


class WeightsHashError(WeightsError):
    """A weights file does not match the sha256 recorded in the manifest."""


class DownloadError(WeightsError):
    """A download failed (network error, truncated transfer)."""


class MissingDependencyError(IQAError, ImportError):
    """An optional dependency is needed; the message gives the pip command."""


class OutputExistsError(IQAError, FileExistsError):
    """An output file exists and neither resume nor overwrite was requested."""


class DatasetError(IQAError, ValueError):
    """A MOS dataset's label files or folder are wrong (the message summarises every problem)."""


class DatasetFilesError(DatasetError, FileNotFoundError):
    """Images or label files a dataset names are missing under its root."""
