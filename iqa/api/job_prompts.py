"""The prompt bookkeeping of a text-image scoring job (:mod:`iqa.api.jobs`): prompts of files the
job does not score, rows to rescore on resume because their prompt changed, the truncation count.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from iqa.api.results import ResultStore
from iqa.io.folders import Pair
from iqa.io.prompts import PromptTable
from iqa.metrics.base import PromptTruncatedWarning


def warn_unused_prompts(
    table: PromptTable | None, where: str, items: list[Pair], *, sharded: bool = False, limit: int = 5
) -> None:
    """Prompts of files that are not among the job's items are reported before the run (not an error)."""
    if table is None:
        return
    unused = table.unused([it.file for it in items])
    if unused:
        more = f" and {len(unused) - limit} more" if len(unused) > limit else ""
        warnings.warn(
            f"{table.path.name} has prompts for {len(unused)} file(s) not in {where}"
            f"{' (this shard)' if sharded else ''}: {', '.join(unused[:limit])}{more}",
            UserWarning,
            stacklevel=3,
        )


def done_with_same_prompt(table: PromptTable | None, store: ResultStore) -> set[str]:
    """Rows already written, less those of a text-image job whose prompt has changed since (rescored)."""
    done = store.done()
    if table is None:
        return done
    return {k for k in done if same_prompt(store.rows[k].get("prompt"), table.lookup(k)[0] or "")}


def same_prompt(stored: object, prompt: str) -> bool:
    """Whether a stored prompt cell is ``prompt`` (a CSV gives "" back as NaN and "42" as 42.0)."""
    if isinstance(stored, str):
        return stored == prompt
    if isinstance(stored, float):
        try:
            again = float(prompt) if prompt else math.nan
        except ValueError:
            return False
        return (math.isnan(stored) and math.isnan(again)) or stored == again
    return False


def warn_truncated(table: PromptTable | None, rows: list[dict[str, Any]]) -> None:
    """One warning with the count of prompts cut to a text tower's context (each row says which)."""
    if table is None:
        return
    cut = [r for r in rows if isinstance(r.get("truncated"), str) and r["truncated"]]
    if cut:
        warnings.warn(
            f"{len(cut)} of {len(rows)} prompts were longer than the text tower's context and were truncated "
            f"(column 'truncated'), e.g. {cut[0]['file']}; pass --opt long_prompts=refuse to refuse them instead",
            PromptTruncatedWarning,
            stacklevel=3,
        )
