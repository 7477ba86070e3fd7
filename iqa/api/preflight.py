"""Pre-flight checks of a scoring or comparison run: every metric and the output, before any image is read.

:func:`prepare_metrics` builds every requested metric with downloads held back (weights found in
``IQA_WEIGHTS_DIR``, the cache or a packaged copy are used; downloadable ones are fetched only after
every check passed) and reports all problems at once, each naming the metric asked for and what it
needs; :func:`output_problems` checks the output (extension, the library its format needs, an
existing file, a writable folder).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from iqa.api.core import create
from iqa.api.results import journal_path, output_format
from iqa.errors import InputError, UnknownMetricError, UnknownOptionError, WeightsError
from iqa.io.prompts import PromptTable, read_prompts
from iqa.metrics.base import Metric


def output_problems(output: str | Path | None, *, resume: bool = False, overwrite: bool = False) -> list[str]:
    """Why ``output`` could not be written at the end of a run (empty when it can), found before the run.

    Checks the extension, the library the format needs (``.parquet``: pyarrow or fastparquet), an
    existing output without ``resume`` / ``overwrite``, and that its folder can be created and written.
    """
    if output is None:
        return []
    path = Path(output)
    problems = writable_problems(path)
    if (path.exists() or journal_path(path).exists()) and not (resume or overwrite):
        problems.append(f"output {path} (or its journal) exists: pass --resume to continue it or --overwrite")
    return problems


def read_prompts_problems(path: str | Path | None) -> tuple[PromptTable | None, list[str]]:
    """The prompts table of a text-image run and the problems found reading it (see :mod:`iqa.io.prompts`).

    Read before any metric is built or image decoded, so an unreadable file, a missing ``file`` or
    ``prompt`` column or a file named twice is reported with the other pre-flight problems.
    """
    if path is None:
        return None, []
    try:
        return read_prompts(path), []
    except InputError as e:
        return None, [str(e)]


def prompt_usage_problems(names: Iterable[str], prompts: str | Path | None) -> list[str]:
    """Text-image metrics asked for without a prompts file, or a prompts file with no text-image metric.

    Read from the specs, so it is reported even when a metric's weights are missing.
    """
    from iqa.api.core import get_spec

    text = []
    for name in names:
        try:
            if get_spec(name).kind == "text":
                text.append(name)
        except (InputError, UnknownMetricError):  # prepare_metrics reports an unknown name with suggestions
            continue
    if text and prompts is None:
        return [
            f"{name} scores images against prompts: give them with --prompts prompts.csv "
            "(a header row file,prompt, then one row per image)"
            for name in text
        ]
    if prompts is not None and not text:
        return [f"--prompts {prompts} was given but no text-image metric is asked for (iqa list --kind text)"]
    return []


def writable_problems(path: Path) -> list[str]:
    """The format, its library and the folder of an output (not whether it exists already)."""
    try:
        fmt = output_format(path)
    except InputError as e:
        return [str(e)]
    problems = []
    if fmt == "parquet" and not _parquet_engine():
        problems.append(f"output {path}: writing .parquet needs pyarrow: pip install pyarrow (or write .csv / .json)")
    folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        problems.append(f"output {path}: cannot write in {folder or path.parent} (permission denied or not a folder)")
    return problems


def _parquet_engine() -> bool:
    """Whether pyarrow or fastparquet (the engines pandas writes parquet with) can be imported."""
    import importlib

    for name in ("pyarrow", "fastparquet"):
        try:
            importlib.import_module(name)
            return True
        except ImportError:
            continue
    return False


class _DownloadNeeded(Exception):
    """Raised instead of a download while metrics are checked: the weights are not here but have a URL."""

    def __init__(self, weight_id: str) -> None:
        super().__init__(weight_id)
        self.weight_id = weight_id


_HOLD = threading.Lock()


@contextlib.contextmanager
def _downloads_held_back() -> Iterator[None]:
    """In this thread, within the block, a weights download raises :class:`_DownloadNeeded` instead.

    The weights manager resolves as usual (explicit path, ``$IQA_WEIGHTS_DIR``, cache, ``IQA_OFFLINE``),
    so what it finds or refuses is its own answer; only the download itself is held back. Weights
    without a URL go to the manager's fetch, whose refusal is its usual "not found" error.
    """
    from iqa.weights import get_weight_spec, store

    with _HOLD:
        real, owner = store.fetch, threading.get_ident()

        def held(weight_id: str, **kwargs: Any) -> Any:
            if threading.get_ident() == owner and get_weight_spec(weight_id).urls:
                raise _DownloadNeeded(weight_id)
            return real(weight_id, **kwargs)

        store.fetch = held  # restored below; only this thread is held back
        try:
            yield
        finally:
            store.fetch = real


def _weights_advice(message: str) -> str:
    """The fetch command of the manifest weights a "not found" message names (it says where a file goes)."""
    from iqa.weights import load_manifest

    ids = [s.id for s in load_manifest().values() if f"'{s.id}'" in message]
    return f" With network: `iqa weights fetch {' '.join(ids)}`." if ids else ""


# Problems the user fixes in the command itself: never skipped, even with keep_going.
_USAGE_ERRORS = (UnknownMetricError, UnknownOptionError, InputError)


@dataclass
class PreparedMetrics:
    """What a run can use: the metrics built, and those that cannot run with why (``name -> reason``)."""

    built: dict[str, Metric] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _problem(name: str, e: BaseException) -> tuple[str, bool]:
    """(one line naming the metric and what it needs, whether it is a usage error)."""
    if isinstance(e, WeightsError):
        return f"{name}: cannot be built, its weights are not usable: {e}.{_weights_advice(str(e))}", False
    usage = isinstance(e, _USAGE_ERRORS)
    text = str(e) if str(e).startswith(name) else f"{name}: {e}"
    return (text if usage else f"{name}: cannot be built: {type(e).__name__}: {e}"), usage


def _raise(usage: list[str], unavailable: dict[str, str], fatal: list[str], keep_going: bool) -> None:
    lines = fatal + usage + ([] if keep_going else list(unavailable.values()))
    if not lines:
        return
    hint = ""
    if unavailable and not keep_going:
        hint = "\nFix them, or pass --keep-going (keep_going=True) to run the metrics that can run."
    head = "1 problem" if len(lines) == 1 else f"{len(lines)} problems"
    raise InputError(f"{head} found before any image was read:\n  " + "\n  ".join(lines) + hint)


def prepare_metrics(
    names: Iterable[str],
    options: dict[str, dict[str, Any]] | None = None,
    *,
    check: Callable[[str, Metric], None] | None = None,
    fatal: Iterable[str] = (),
    keep_going: bool = False,
) -> PreparedMetrics:
    """Build every metric of a run before any image is read, and report every problem at once.

    Each metric is first built with downloads held back: weights that are on this machine (an
    explicit path, ``$IQA_WEIGHTS_DIR``, the weights cache) are used, weights that are missing and
    cannot be downloaded (``IQA_OFFLINE``, no URL) make a problem that names the metric, the
    weights and how to install them, and weights that could be downloaded wait. Only when nothing
    is wrong are the waiting metrics built for real (their downloads happen then).

    Args:
        names: the metrics asked for, in order.
        options: per-metric options, ``{"ssim": {"downsample": False}}``.
        check: called as ``check(name, metric)`` on each built metric, downloads still held back
            (a wrong kind for the command, a feature extractor to build now); it raises to refuse.
        fatal: problems found by the caller (an output that cannot be written): never skipped.
        keep_going: metrics that cannot be built (missing weights or dependency, a network that
            cannot load) are returned in ``skipped`` instead of stopping the run. Usage errors
            (unknown metric or option, a bad value) and ``fatal`` problems always stop it.

    Raises:
        InputError: one message listing every problem (usage errors, ``fatal``, and without
            ``keep_going`` the metrics that cannot be built).
    """
    names, options = list(names), options or {}
    out, usage, waiting = PreparedMetrics(), [], []
    for name in names:
        try:
            with _downloads_held_back():
                m = create(name, **options.get(name, {}))
                if check is not None:
                    check(name, m)
            out.built[name] = m
        except _DownloadNeeded:
            waiting.append(name)
        except Exception as e:  # noqa: BLE001 - every failure of one metric is reported with the others
            line, is_usage = _problem(name, e)
            if is_usage:
                usage.append(line)
            else:
                out.skipped[name] = line
    fatal = list(fatal)
    _raise(usage, out.skipped, fatal, keep_going)
    for name in waiting:  # every check passed: downloads may happen now
        try:
            m = create(name, **options.get(name, {}))
            if check is not None:
                check(name, m)
            out.built[name] = m
        except Exception as e:  # noqa: BLE001 - as above
            out.skipped[name] = _problem(name, e)[0]
    _raise([], out.skipped, [], keep_going)
    out.built = {n: out.built[n] for n in names if n in out.built}  # the order asked for
    return out
