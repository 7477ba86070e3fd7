"""From a scored dataset table to the numbers of a correlation report.

Input: the dataset's records with one column per metric (see :mod:`iqa.evaluation.scoring`).
Output (:class:`CorrelationResult`): per metric SRCC/KRCC/PLCC/RMSE with bootstrap intervals, the
fitted mapping, per-group breakdowns and pairwise significance between metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from iqa.evaluation.bootstrap import bootstrap_ci, bootstrap_difference
from iqa.evaluation.correlation import Fit, agreement, cap_infinities, fit_mapping, orient, srcc
from iqa.evaluation.significance import williams_test

MIN_GROUP = 5  # smaller groups get no correlation (too noisy to be worth a bar)
# Fewer images give few distinct resamples (35 for 4 images), many with constant scores (NaN
# correlations): the percentile interval would be noise. Below this, no bootstrap, and a note says so.
MIN_BOOTSTRAP = 10


@dataclass
class CorrelationResult:
    """Everything a report shows; ``table`` keeps the per-image scores (oriented copies in ``<m>_oriented``)."""

    dataset: str
    score_name: str
    split: str
    metrics: list[str]
    scored: list[str]  # the metrics with at least 3 finite scores (the others have NaN rows and an error)
    table: pd.DataFrame
    overall: pd.DataFrame
    per_group: dict[str, pd.DataFrame] = field(default_factory=dict)
    pairwise: pd.DataFrame = field(default_factory=pd.DataFrame)
    fits: dict[str, Fit] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    negated: dict[str, bool] = field(default_factory=dict)  # metric -> its scores were negated to orient them
    notes: list[str] = field(default_factory=list)  # what was skipped or degraded, and why (shown in the report)
    synthetic: bool = False  # the scores are a proxy (e.g. `iqa synth`'s 6 - level), not human opinion


def _overall(
    table: pd.DataFrame, metrics: list[str], fit: str, n_boot: int, seed: int, level: float
) -> tuple[pd.DataFrame, dict[str, Fit]]:
    rows, fits = [], {}
    y_all = table["mos"].to_numpy(np.float64)
    for m in metrics:
        x_all = table[f"{m}_oriented"].to_numpy(np.float64)
        ok = np.isfinite(x_all) & np.isfinite(y_all)
        x, y = x_all[ok], y_all[ok]
        errors = table[f"{m}_error"] if f"{m}_error" in table else pd.Series([""] * len(table))
        first_error = next((e for e in errors if e), "")
        if ok.sum() < 3:  # reported as a row of NaNs with the reason, not a crash of the whole report
            rows.append(
                {"metric": m, "n": int(ok.sum()), "errors": int((errors != "").sum()), "first_error": first_error}
            )
            continue
        row: dict = {"metric": m, **agreement(x, y, fit=fit)}
        fits[m] = fit_mapping(x, y, fit)
        if n_boot and len(x) >= MIN_BOOTSTRAP:
            row["srcc_lo"], row["srcc_hi"] = bootstrap_ci(x, y, "srcc", n_boot=n_boot, seed=seed, level=level)
            if fits[m].kind != "skipped":
                row["plcc_lo"], row["plcc_hi"] = bootstrap_ci(
                    fits[m](x), y, "plcc", n_boot=n_boot, seed=seed, level=level
                )
        row["errors"], row["first_error"] = int((errors != "").sum()), first_error
        rows.append(row)
    return pd.DataFrame(rows), fits


def _per_group(table: pd.DataFrame, metrics: list[str], col: str) -> pd.DataFrame:
    rows = []
    for g, sub in table.groupby(col, sort=True):
        for m in metrics:
            x, y = sub[f"{m}_oriented"].to_numpy(np.float64), sub["mos"].to_numpy(np.float64)
            ok = np.isfinite(x) & np.isfinite(y)
            n = int(ok.sum())
            enough = n >= MIN_GROUP and np.ptp(x[ok]) > 0 and np.ptp(y[ok]) > 0
            rows.append({"group": g, "metric": m, "n": n, "srcc": srcc(x[ok], y[ok]) if enough else np.nan,
                         "plcc": float(np.corrcoef(x[ok], y[ok])[0, 1]) if enough else np.nan})  # fmt: skip
    return pd.DataFrame(rows)


def _pairwise(table: pd.DataFrame, metrics: list[str], n_boot: int, seed: int) -> pd.DataFrame:
    rows = []
    y_all = table["mos"].to_numpy(np.float64)
    for a, b in combinations(metrics, 2):
        xa, xb = table[f"{a}_oriented"].to_numpy(np.float64), table[f"{b}_oriented"].to_numpy(np.float64)
        ok = np.isfinite(xa) & np.isfinite(xb) & np.isfinite(y_all)
        xa, xb, y = xa[ok], xb[ok], y_all[ok]
        ra, rb, rab = srcc(y, xa), srcc(y, xb), srcc(xa, xb)
        row = {"metric_a": a, "metric_b": b, "n": int(ok.sum()), "srcc_a": ra, "srcc_b": rb, "srcc_ab": rab}
        w = williams_test(ra, rb, rab, len(y)) if len(y) > 3 else {"t": np.nan, "p": np.nan}  # df = n - 3
        row.update({"williams_t": w["t"], "williams_p": w["p"]})
        if n_boot and len(y) >= MIN_BOOTSTRAP:
            d = bootstrap_difference(xa, xb, y, "srcc", n_boot=n_boot, seed=seed)
            row.update({"boot_diff_lo": d["diff_lo"], "boot_diff_hi": d["diff_hi"], "boot_p": d["p"]})
        rows.append(row)
    return pd.DataFrame(rows)


def _undefined_groups(per_group: pd.DataFrame, col: str) -> str:
    """Why no group of ``col`` has a correlation, or "" when some group has one."""
    if per_group["srcc"].notna().any():
        return ""
    if (per_group["n"] < MIN_GROUP).all():
        return f"SRCC per {col} not shown: every {col} has fewer than {MIN_GROUP} scored images"
    return (
        f"SRCC per {col} not shown: it is undefined in every {col} (fewer than {MIN_GROUP} images, or scores "
        f"constant within the group, as when the score is a function of the {col})"
    )


def _notes(overall: pd.DataFrame, n_boot: int, dropped: list[str]) -> list[str]:
    notes = sorted({str(v) for v in overall.get("fit_note", pd.Series(dtype=object)).dropna() if v})
    notes = [f"{v}; PLCC and RMSE, which need the fitted mapping, are not reported" for v in notes]
    n = overall["n"][overall["n"] >= 3]  # metrics that were analysed (the others' rows give their error)
    if n_boot and len(n) and (n < MIN_BOOTSTRAP).any():
        notes.append(
            f"no bootstrap confidence intervals or bootstrap test for metrics with fewer than {MIN_BOOTSTRAP} "
            f"scored images (here {int(n.min())}): too few distinct resamples"
        )
    if len(n) > 1 and int(n.min()) <= 3:
        notes.append("Williams' test needs more than 3 images: not computed")
    return notes + dropped


def analyze(
    table: pd.DataFrame,
    metrics: dict[str, bool],
    *,
    mos_higher_is_better: bool = True,
    group_columns: tuple[str, ...] = (),
    fit: str = "logistic5",
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    dataset: str = "",
    score_name: str = "MOS",
    split: str = "all",
    notes: list[str] | None = None,
    synthetic: bool = False,
) -> CorrelationResult:
    """``metrics`` maps each metric column to its ``higher_is_better``.

    ``notes`` (e.g. that the scores are synthetic) head the result's notes; analyses that cannot be
    done on these records (a fit with too few points, bootstrap on a handful of images, a grouping
    whose every group is undefined) are skipped and noted instead of failing.
    """
    table = table.copy()
    capped = {}
    for m, hib in metrics.items():
        table[f"{m}_oriented"], capped[m] = cap_infinities(
            orient(table[m].to_numpy(np.float64), hib, mos_higher_is_better)
        )
    overall, fits = _overall(table, list(metrics), fit, n_boot, seed, level)
    overall["capped_inf"] = [capped[m] for m in overall["metric"]]
    names = [m for m in metrics if m in fits]  # metrics with enough finite scores
    groups = {c: _per_group(table, names, c) for c in group_columns if c in table and table[c].nunique() > 1 and names}
    dropped = {c: why for c, df in groups.items() if (why := _undefined_groups(df, c))}
    groups = {c: df for c, df in groups.items() if c not in dropped}
    pairwise = _pairwise(table, names, n_boot, seed) if len(names) > 1 else pd.DataFrame()
    return CorrelationResult(
        dataset=dataset, score_name=score_name, split=split, metrics=list(metrics), scored=names, table=table, overall=overall,
        per_group=groups, pairwise=pairwise, fits=fits,
        settings={"fit": fit, "n_boot": n_boot, "seed": seed, "level": level, "mos_higher_is_better": mos_higher_is_better},
        negated={m: hib != mos_higher_is_better for m, hib in metrics.items()},
        notes=[*(notes or []), *_notes(overall, n_boot, list(dropped.values()))], synthetic=synthetic,
    )  # fmt: skip
