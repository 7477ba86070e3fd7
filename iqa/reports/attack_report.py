"""Output of ``iqa attack fid-resample``: ``weights.csv`` (per candidate log-weight and sampling
probability), ``history.csv`` (loss and evaluations per iteration), ``result.json`` (before/after in
every space, the top-1 selection variant, settings), ``figures/*.png`` and a self-contained
``report.html`` (FD curves, top-1 class histograms, the highest- and lowest-weighted candidates).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from iqa.attacks.fid_resample_run import ResampleRun
from iqa.explain.classes import ClassHistograms
from iqa.io.images import decode_image
from iqa.reports._figures import _plt, _png
from iqa.reports._files import data_uri, write
from iqa.reports.explain_gallery import histogram_figure

THUMB = 128


@dataclass(frozen=True)
class ResampleSummary:
    """The numbers of the report, computed by :func:`iqa.pipelines.summarize_resample`."""

    relative_change: dict[str, float]  # per space: (after - before) / before
    effective_sample_size: float  # of the optimised sampling probabilities
    top1_before: ClassHistograms | None = None  # reference vs pool, uniform weights
    top1_after: ClassHistograms | None = None  # reference vs pool, optimised weights


def _curves(history: pd.DataFrame) -> bytes:
    plt = _plt()
    spaces = [c for c in history.columns if c.startswith("fd")]
    ev = history.dropna(subset=spaces)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    axes[0].plot(history["iteration"], history["loss"], lw=1.2)
    axes[0].set_title("training loss (FD of the weighted pool)", fontsize=9)
    for c in spaces:
        first = ev[c].iloc[0]
        axes[1].plot(ev["iteration"], ev[c] / first, marker="o", ms=3, label=f"{c} (first {first:.3g})")
    axes[1].set_title("sampled FD relative to iteration 1 (min of repeats)", fontsize=9)
    axes[1].axhline(1.0, color="grey", lw=0.8)
    axes[1].legend(fontsize=7)
    for ax in axes:
        ax.set_xlabel("iteration", fontsize=8)
        ax.grid(alpha=0.3)
    return _png(fig)


def _grid(pool: Path, names: list[str], title: str) -> bytes:
    plt = _plt()
    cols = min(8, len(names))
    rows = max(1, int(np.ceil(len(names) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(1.3 * cols, 1.45 * rows + 0.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, name in zip(axes.flat, names):
        arr = decode_image(pool / name)
        im = Image.fromarray((arr >> 8).astype(np.uint8) if arr.dtype == np.uint16 else arr)
        im.thumbnail((THUMB, THUMB))
        ax.imshow(np.asarray(im))
        ax.set_title(name[-18:], fontsize=5)
    fig.suptitle(title, fontsize=9)
    return _png(fig)


def write_attack_report(
    run: ResampleRun, out: str | Path, summary: ResampleSummary, *, command: str = "", grid: int = 16
) -> dict[str, Path]:
    """Write the files listed in the module docstring into ``out``; returns their paths by kind."""
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    res = run.result
    p = res.probabilities
    weights = pd.DataFrame({"image": run.names, "log_weight": res.log_weights, "probability": p})
    write(out / "weights.csv", weights.to_csv(index=False))
    history = pd.DataFrame(res.history)
    write(out / "history.csv", history.to_csv(index=False))
    result: dict[str, Any] = {
        "before": res.before,
        "after": res.after,
        "relative_change": summary.relative_change,
        "top1_selection": run.top1_selection,
        "effective_sample_size": summary.effective_sample_size,
        "settings": res.settings,
        "failed": run.failed,
    }
    figs: list[tuple[str, str, bytes]] = [("curves", "Loss and sampled FD over the iterations", _curves(history))]
    if summary.top1_before is not None and summary.top1_after is not None:
        figs.append(("top1_before", "Top-1 classes: reference vs pool (uniform weights)",
                     histogram_figure(summary.top1_before, ("reference", "pool, uniform"))))  # fmt: skip
        figs.append(("top1_after", "Top-1 classes: reference vs pool (optimised weights)",
                     histogram_figure(summary.top1_after, ("reference", "pool, resampled"))))  # fmt: skip
        result["top1_overlap"] = {"before": summary.top1_before.overlap, "after": summary.top1_after.overlap}
    write(out / "result.json", json.dumps(result, indent=1))
    pool = Path(res.settings["pool_dir"])
    order = np.argsort(-p)
    k = min(grid, len(order))
    highest, lowest = [run.names[i] for i in order[:k]], [run.names[i] for i in order[-k:]]
    figs.append(("highest", f"The {k} highest-weighted candidates", _grid(pool, highest, "highest weights")))
    figs.append(("lowest", f"The {k} lowest-weighted candidates", _grid(pool, lowest, "lowest weights")))
    for name, _, png in figs:
        write(out / "figures" / f"{name}.png", png)
    write(out / "report.html", _page(result, figs, command))
    return {"html": out / "report.html", "result": out / "result.json", "weights": out / "weights.csv"}


def _page(summary: dict[str, Any], figs: list[tuple[str, str, bytes]], command: str) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{summary['before'][k]:.4f}</td><td>{summary['after'][k]:.4f}</td>"
        f"<td>{100 * summary['relative_change'].get(k, float('nan')):+.1f} %</td>"
        + (f"<td>{summary['top1_selection'][k]:.4f}</td>" if summary.get("top1_selection") else "<td></td>")
        + "</tr>"
        for k in summary["before"]
    )
    imgs = "".join(
        f'<figure><img src="{data_uri(png)}" alt="{html.escape(n)}"><figcaption>{html.escape(c)}</figcaption></figure>'
        for n, c, png in figs
    )
    s = summary["settings"]
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>FID resampling attack</title><style>"
        "body{font-family:sans-serif;margin:1.5em;max-width:1200px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}figure{margin:1em 0}img{max-width:100%}"
        "figcaption{font-size:12px;color:#555}</style></head><body>"
        f"<h1>Resampling attack on FD ({html.escape(str(s.get('extractor')))}, mode {html.escape(str(s.get('mode')))})</h1>"
        f"<p>{s.get('pool')} candidates reweighted towards {s.get('reference')} reference images; each evaluation draws "
        f"{s.get('eval_size')} candidates with replacement (p proportional to exp(w)) and keeps the minimum of "
        f"{s.get('repeats')} draws. Effective sample size of the weights: {summary['effective_sample_size']:.0f}. "
        "Kynkaanniemi et al., ICLR 2023.</p>"
        "<table><tr><th>space</th><th>before</th><th>after</th><th>change</th><th>top-1 selection</th></tr>"
        f"{rows}</table>{imgs}<h2>Settings</h2><pre>{html.escape(json.dumps(s, indent=1))}</pre>"
        + (f"<p>Command: <code>{html.escape(command)}</code></p>" if command else "")
        + "</body></html>"
    )
