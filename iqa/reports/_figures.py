"""Matplotlib figures of a correlation report (Agg backend, PNG bytes)."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from iqa.errors import MissingDependencyError
from iqa.evaluation.analysis import CorrelationResult

MAX_GROUPS = 40  # more bars than this are unreadable; such columns get a table only


def _plt():  # noqa: ANN202
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise MissingDependencyError("reports need matplotlib: pip install matplotlib") from e
    return plt


def _png(fig) -> bytes:  # noqa: ANN001
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def scatter(result: CorrelationResult, metric: str, color_by: str | None = None) -> bytes:
    """Oriented metric score vs MOS, the fitted mapping over it, coloured by a group column."""
    plt = _plt()
    t = result.table
    x, y = t[f"{metric}_oriented"].to_numpy(np.float64), t["mos"].to_numpy(np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    fig, ax = plt.subplots(figsize=(4.6, 3.8))
    if color_by and color_by in t and t[color_by].nunique() <= 12:
        for g, sub in t[ok].groupby(color_by, sort=True):
            ax.scatter(sub[f"{metric}_oriented"], sub["mos"], s=8, alpha=0.6, label=str(g))
        ax.legend(
            fontsize=6, markerscale=1.5, title=color_by, title_fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0)
        )
    else:
        ax.scatter(x[ok], y[ok], s=8, alpha=0.5)
    if ok.sum() > 1 and np.ptp(x[ok]) > 0:
        grid = np.linspace(x[ok].min(), x[ok].max(), 200)
        fit = result.fits[metric]
        ax.plot(grid, fit(grid), color="black", lw=1.5, label=f"{fit.kind} fit")
    row = result.overall.set_index("metric").loc[metric]
    ax.set_title(f"{metric}: SRCC {row['srcc']:.3f}, PLCC {row['plcc']:.3f}", fontsize=9)
    ax.set_xlabel(f"{metric}" + (" (negated: lower is better)" if result.negated.get(metric) else ""), fontsize=8)
    ax.set_ylabel(result.score_name, fontsize=8)
    ax.grid(alpha=0.3)
    return _png(fig)


def group_bars(result: CorrelationResult, column: str) -> bytes | None:
    """SRCC per group (bars) for each metric; None when there are too many groups."""
    df: pd.DataFrame = result.per_group[column]
    groups = list(dict.fromkeys(df["group"]))
    if len(groups) > MAX_GROUPS:
        return None
    plt = _plt()
    metrics = result.scored
    width = 0.8 / len(metrics)
    fig, ax = plt.subplots(figsize=(max(5.0, 0.35 * len(groups) * max(1, len(metrics) / 2)), 3.6))
    pos = np.arange(len(groups))
    for i, m in enumerate(metrics):
        vals = df[df["metric"] == m].set_index("group").reindex(groups)["srcc"].to_numpy(np.float64)
        ax.bar(pos + (i - (len(metrics) - 1) / 2) * width, np.nan_to_num(vals), width, label=m)
    ax.set_xticks(
        pos,
        [str(g) for g in groups],
        rotation=60 if len(groups) > 6 else 0,
        ha="right" if len(groups) > 6 else "center",
        fontsize=7,
    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("SRCC", fontsize=8)
    ax.set_title(f"SRCC per {column}", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)
