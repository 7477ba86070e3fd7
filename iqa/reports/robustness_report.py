"""Report of ``iqa robustness``: ``robustness.csv`` / ``robustness.md`` (one row per metric and
attack: MSU robustness score with its 95 % interval, gains, fraction of images rated better),
``figures/robustness.png`` and a self-contained ``report.html``.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

import numpy as np

from iqa.attacks.robustness_run import RobustnessRun
from iqa.reports._figures import _plt, _png
from iqa.reports._files import data_uri, write

COLUMNS = [
    "attack",
    "metric",
    "n",
    "robustness",
    "robustness_ci",
    "abs_gain",
    "abs_gain_ci",
    "rel_gain",
    "wasserstein",
    "energy",
    "improved",
]


def _chart(table: list[dict], attacks: list[str]) -> bytes:
    plt = _plt()
    metrics = sorted(
        {t["metric"] for t in table}, key=lambda m: -np.mean([t["robustness"] for t in table if t["metric"] == m])
    )
    fig, ax = plt.subplots(figsize=(max(6, 0.55 * len(metrics) * max(1, len(attacks)) / 2), 3.6))
    width = 0.8 / max(1, len(attacks))
    for j, a in enumerate(attacks):
        vals = {t["metric"]: t for t in table if t["attack"] == a}
        xs = [i + j * width for i, m in enumerate(metrics) if m in vals]
        ys = [vals[m]["robustness"] for m in metrics if m in vals]
        err = [0 if math.isnan(vals[m]["robustness_ci"]) else vals[m]["robustness_ci"] for m in metrics if m in vals]
        ax.bar(xs, ys, width, yerr=err, capsize=2, label=a.split("/")[-1] if a.startswith("hack:") else a)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(metrics))], metrics, rotation=60, fontsize=7)
    ax.set_ylabel("robustness score (higher = more robust)", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)


def _md(table: list[dict]) -> str:
    head = "| attack | metric | n | robustness | abs gain | rel gain | Wasserstein | improved |\n|---|---|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {t['attack']} | {t['metric']} | {t['n']} | {t['robustness']:.3f} ± {t['robustness_ci']:.3f} | {t['abs_gain']:+.3f} "
        f"| {t['rel_gain']:+.3f} | {t['wasserstein']:+.3f} | {100 * t['improved']:.0f} % |\n" for t in table)  # fmt: skip


def write_robustness_report(run: RobustnessRun, table: list[dict[str, Any]], *, command: str = "") -> dict[str, Path]:
    """Write the report of ``run`` into ``run.out``; ``table`` is its
    :func:`~iqa.evaluation.robustness.robustness_table`. Returns the paths by kind.
    """
    out = Path(run.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    write(
        out / "robustness.csv",
        ",".join(COLUMNS) + "\n" + "".join(",".join(str(t[c]) for c in COLUMNS) + "\n" for t in table),
    )
    write(out / "robustness.md", _md(table))
    png = _chart(table, run.attacks) if table else None
    if png:
        write(out / "figures" / "robustness.png", png)
    rows = "".join(
        f"<tr><td>{html.escape(t['attack'])}</td><td>{html.escape(t['metric'])}</td><td>{t['n']}</td>"
        f"<td>{t['robustness']:.3f} &plusmn; {t['robustness_ci']:.3f}</td><td>{t['abs_gain']:+.3f}</td><td>{t['rel_gain']:+.3f}</td>"
        f"<td>{t['wasserstein']:+.3f}</td><td>{t['energy']:+.3f}</td><td>{100 * t['improved']:.0f} %</td></tr>" for t in table)  # fmt: skip
    skipped = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in run.skipped_metrics.items())
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Metric robustness</title><style>"
        "body{font-family:sans-serif;margin:1.5em;max-width:1200px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}img{max-width:100%}</style></head><body>"
        f"<h1>Robustness of full-reference metrics (JPEG quality {run.quality}; a hack: at the quality it was trained for)</h1>"
        "<p>Scores as in the MSU Metrics Robustness Benchmark (Antsiferova et al., AAAI 2024): clean = metric(plain JPEG, "
        "original), attacked = metric(attacked JPEG, original); both min-max scaled with the clean values' range. Robustness "
        "R = mean log10(max(1 - s, s) / (|s - s'| + 1e-6)), higher = more robust, with a 95 % t-interval over images. Gains "
        "are signed so that positive means the metric rates the attacked image better.</p>"
        + (f"<img src='{data_uri(png)}' alt='robustness'>" if png else "")
        + "<table><tr><th>attack</th><th>metric</th><th>n</th><th>robustness</th><th>abs gain</th><th>rel gain</th>"
        f"<th>Wasserstein</th><th>energy</th><th>improved</th></tr>{rows}</table>"
        + (f"<p>Not evaluated here:</p><ul>{skipped}</ul>" if skipped else "")
        + (f"<p>Command: <code>{html.escape(command)}</code></p>" if command else "")
        + "</body></html>"
    )
    write(out / "report.html", page)
    return {"html": out / "report.html", "csv": out / "robustness.csv", "md": out / "robustness.md"}
