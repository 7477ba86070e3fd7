"""Report of ``iqa attack compression``: ``transfer.csv`` / ``transfer.md`` (every metric's gain
under the attack), ``result.json``, ``figures/*.png`` and a self-contained ``report.html`` with the
training curve, per-image gains, the transfer chart and original / plain JPEG / hacked JPEG crops.
"""

from __future__ import annotations

import html
import io
import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from iqa.attacks.compression_run import CompressionRun
from iqa.evaluation.gains import CompressionSummary
from iqa.io.images import decode_image
from iqa.reports._figures import _plt, _png
from iqa.reports._files import data_uri, write

CROP = 192  # side of the example crops (shown at 2x)


def _curve(history: list[dict], metric: str) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 3.2))
    steps = [h["step"] for h in history if "loss" in h]
    ax.plot(
        steps,
        [h["loss"] for h in history if "loss" in h],
        lw=0.8,
        alpha=0.6,
        label="training batch (surrogate rounding)",
    )
    val = [(h["step"], h["val"]) for h in history if "val" in h]
    if val:
        ax.plot(*zip(*val), marker="o", ms=3, label="fixed validation crops (exact rounding)")
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel(f"loss (-{metric} for similarities)", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    return _png(fig)


def _per_image(g: list[tuple[float, str]], m: str) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(5, 0.25 * len(g)), 3.2))
    ax.bar(range(len(g)), [v for v, _ in g], color=["#3a7" if v > 0 else "#c44" for v, _ in g])
    ax.set_xticks(range(len(g)), [n[-14:] for _, n in g], rotation=90, fontsize=6)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_ylabel(f"{m} gain over plain JPEG (%)", fontsize=8)
    return _png(fig)


def _transfer_chart(table: list[dict[str, Any]]) -> bytes:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 0.3 * len(table) + 1))
    names = [("* " if t["target"] else "") + t["metric"] for t in table]
    vals = [t["mean_gain_pct"] for t in table]
    ax.barh(range(len(table)), vals, color=["#3a7" if v > 0 else "#c44" for v in vals])
    ax.set_yticks(range(len(table)), names, fontsize=7)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(
        "mean gain over plain JPEG (%), positive = the metric says the hacked JPEG is better (* = target)", fontsize=7
    )
    return _png(fig)


def _triplet(test_dir: Path, out: Path, name: str) -> bytes:
    stem = name.replace("/", "__").rsplit(".", 1)[0]
    ims = [
        decode_image(test_dir / name),
        decode_image(out / "jpeg" / f"{stem}.plain.jpg"),
        decode_image(out / "jpeg" / f"{stem}.hacked.jpg"),
    ]
    ims = [(a >> 8).astype(np.uint8) if a.dtype == np.uint16 else a for a in ims]
    h, w = ims[0].shape[:2]
    top, left = max(0, (h - CROP) // 2), max(0, (w - CROP) // 2)
    crops = [a[top : top + CROP, left : left + CROP] for a in ims]
    gap = np.full((crops[0].shape[0], 4, 3), 255, np.uint8)
    strip = np.concatenate([crops[0], gap, crops[1], gap, crops[2]], 1)
    im = Image.fromarray(strip).resize(
        (strip.shape[1] * 2, strip.shape[0] * 2), Image.Resampling.NEAREST
    )  # pixels stay visible
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _table_md(table: list[dict[str, Any]]) -> str:
    head = "| metric | better | n | plain | hacked | mean gain % | median gain % | improved |\n|---|---|---|---|---|---|---|---|\n"
    return head + "".join(
        f"| {'**' + t['metric'] + '** (target)' if t['target'] else t['metric']} | {'higher' if t['higher_is_better'] else 'lower'} "
        f"| {t['n']} | {t['plain']:.4g} | {t['hacked']:.4g} | {t['mean_gain_pct']:+.1f} | {t['median_gain_pct']:+.1f} | {100 * t['improved']:.0f} % |\n"
        for t in table
    )


def write_compression_report(
    run: CompressionRun,
    summary: CompressionSummary,
    test_dir: str | os.PathLike[str],
    *,
    command: str = "",
    examples: int = 6,
) -> dict[str, Path]:
    """Write the report files into ``run.out``; ``summary`` is
    :func:`~iqa.evaluation.gains.summarize_compression` of its rows. Returns the paths by kind.
    """
    if run.out is None:
        raise ValueError("the run has no output folder")
    out = Path(run.out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    table, bits, m = summary.transfer, summary.bitrate, run.cfg.metric
    write(out / "transfer.md", _table_md(table))
    write(out / "transfer.csv", "metric,target,higher_is_better,n,plain,hacked,mean_gain_pct,median_gain_pct,improved\n"
          + "".join(",".join(str(t[k]) for k in ("metric", "target", "higher_is_better", "n", "plain", "hacked",
                                                 "mean_gain_pct", "median_gain_pct", "improved")) + "\n" for t in table))  # fmt: skip
    result = {"config": dict(vars(run.cfg)), "transfer": table, "bitrate": bits,
              "skipped_metrics": run.skipped_metrics, "failed": run.failed, "n_test": len(run.rows),
              "best_step": next((h["step"] for h in reversed(run.history) if h.get("selected")), None)}  # fmt: skip
    write(out / "result.json", json.dumps(result, indent=1, default=str))
    figs = [("training", "Training: loss per batch and exact-rounding loss on the fixed validation crops (the best is kept)",
             _curve(run.history, m))]  # fmt: skip
    if run.rows:
        figs.append(("per_image", f"Per test image: {m} gain of hacked over plain JPEG (real codec)",
                     _per_image(summary.target_gains, m)))  # fmt: skip
    if table:
        figs.append(("transfer", "Every differentiable FR metric: mean gain under the attack", _transfer_chart(table)))
    for name, _, png in figs:
        write(out / "figures" / f"{name}.png", png)
    by_image = {str(r["image"]): r for r in run.rows}
    ranked = [by_image[name] for _, name in reversed(summary.target_gains)]  # largest gain first
    picks = (
        ranked[: examples - examples // 3] + ranked[len(ranked) - examples // 3 :] if len(ranked) > examples else ranked
    )
    trips = [(r, _triplet(Path(test_dir), out, r["image"])) for r in picks]
    write(out / "report.html", _page(run, table, bits, figs, trips, command))
    return {"html": out / "report.html", "result": out / "result.json", "transfer": out / "transfer.csv"}


def _page(
    run: CompressionRun,
    table: list[dict[str, Any]],
    bits: dict[str, float],
    figs: list[Any],
    trips: list[Any],
    command: str,
) -> str:
    cfg, m = run.cfg, run.cfg.metric
    rows = "".join(
        ("<tr style='font-weight:bold'>" if t["target"] else "<tr>") + f"<td>{html.escape(t['metric'])}</td>"
        f"<td>{'higher' if t['higher_is_better'] else 'lower'}</td><td>{t['n']}</td><td>{t['plain']:.4g}</td>"
        f"<td>{t['hacked']:.4g}</td><td>{t['mean_gain_pct']:+.1f} %</td><td>{t['median_gain_pct']:+.1f} %</td>"
        f"<td>{100 * t['improved']:.0f} %</td></tr>" for t in table)  # fmt: skip
    skipped = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in run.skipped_metrics.items())
    imgs = "".join(
        f'<figure><img src="{data_uri(p)}" alt="{n}"><figcaption>{html.escape(c)}</figcaption></figure>'
        for n, c, p in figs
    )
    cards = "".join(
        f"<figure><img src='{data_uri(png)}' alt='{html.escape(r['image'])}'><figcaption>{html.escape(r['image'])}: "
        f"{m} {r[f'{m}_plain']:.4f} (plain) &rarr; {r[f'{m}_hacked']:.4f} (hacked); PSNR {r.get('psnr_plain', math.nan):.2f} &rarr; "
        f"{r.get('psnr_hacked', math.nan):.2f} dB; {r['bpp_plain']:.3f} &rarr; {r['bpp_hacked']:.3f} bpp. "
        "Left to right: original, plain JPEG, hacked JPEG (centre crop, 2x).</figcaption></figure>" for r, png in trips)  # fmt: skip
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Compression hack</title><style>"
        "body{font-family:sans-serif;margin:1.5em;max-width:1250px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}figure{margin:1em 0}img{max-width:100%}"
        "figcaption{font-size:12px;color:#555}</style></head><body>"
        f"<h1>Compression hack against {html.escape(m)} (JPEG quality {cfg.quality}, preprocessor {cfg.placement} the codec)</h1>"
        "<p>A ~29k-parameter preprocessor (three global contrast gains and a residual CNN) trained to raise the target metric between the original and its JPEG "
        "(Siniukov, Kulikov, Vatolin, DCC 2023). Trained through a differentiable JPEG proxy; every number below "
        f"comes from Pillow's real codec on {len(run.rows)} held-out images. Gains are relative to plain JPEG of "
        "the same image at the same quality; positive means the metric rates the hacked file better.</p>"
        f"<p>Bitrate: {bits['bpp_plain']:.3f} bpp plain, {bits['bpp_hacked']:.3f} bpp hacked ({bits['change_pct']:+.1f} %).</p>"
        "<table><tr><th>metric</th><th>better</th><th>n</th><th>plain</th><th>hacked</th><th>mean gain</th>"
        f"<th>median gain</th><th>improved</th></tr>{rows}</table>"
        + (f"<p>Not evaluated here:</p><ul>{skipped}</ul>" if skipped else "")
        + imgs
        + "<h2>Examples (best and worst for the target)</h2>"
        + cards
        + f"<h2>Settings</h2><pre>{html.escape(json.dumps(vars(cfg), indent=1, default=str))}</pre>"
        + (f"<p>Command: <code>{html.escape(command)}</code></p>" if command else "")
        + (f"<p>Unreadable files: {html.escape('; '.join(run.failed))}</p>" if run.failed else "")
        + "</body></html>"
    )
