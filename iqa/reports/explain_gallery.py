"""Output of ``iqa explain fid``: overlays, raw maps, a CSV, a class-histogram figure and one
self-contained HTML gallery (every image embedded as base64, so the file can be mailed or archived).

Layout of OUT/: ``overlays/<name>.png`` (heatmap over the image), ``heatmaps/<name>.png`` (map
alone), ``maps/<name>.npy`` (raw float64 map), ``explanations.csv``, ``class_histogram.png``,
``gallery.html``, ``summary.json``.
"""

from __future__ import annotations

import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from iqa.explain.classes import ClassHistograms
from iqa.explain.fid_explain import FIDExplanation
from iqa.explain.render import heat_only, overlay
from iqa.reports._figures import _plt, _png
from iqa.reports._files import data_uri, write

DISPLAY_MAX = 384  # long side of images in the gallery (files on disk keep the full size)


def _safe(name: str) -> str:
    return name.replace("/", "__").rsplit(".", 1)[0]


def _png_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


def _thumb(arr: np.ndarray) -> bytes:
    im = Image.fromarray(arr)
    im.thumbnail((DISPLAY_MAX, DISPLAY_MAX), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()


def histogram_figure(h: ClassHistograms, labels: tuple[str, str] = ("reference", "generated"), top: int = 25) -> bytes:
    """Bars of the normalised top-1 class histograms of two sets, most frequent classes first."""
    plt = _plt()
    k = min(top, len(h.classes))
    pa, pb = h.counts_a / max(h.counts_a.sum(), 1e-300), h.counts_b / max(h.counts_b.sum(), 1e-300)
    x = np.arange(k)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * k + 2), 3.8))
    ax.bar(x - 0.2, pa[:k], width=0.4, label=labels[0])
    ax.bar(x + 0.2, pb[:k], width=0.4, label=labels[1])
    ax.set_xticks(x, [n[:22] for n in h.names[:k]], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("fraction of images (top-1 class)", fontsize=8)
    ax.set_title(
        f"top-1 classes: overlap {h.overlap:.3f} (total variation {h.total_variation:.3f}); {k} of {len(h.classes)} classes",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


def write_explain_gallery(exp: FIDExplanation, out: str | Path, *, command: str = "") -> dict[str, Path]:
    """Write the files listed in the module docstring; returns their paths by kind."""
    out = Path(out)
    for sub in ("overlays", "heatmaps", "maps"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rows, cards = [], []
    label, loo = html.escape(exp.label), bool(exp.settings.get("leave_one_out", True))
    for it in sorted(exp.items, key=lambda i: -i.contribution):
        img = (it.image.permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        ov = overlay(it.image, it.heatmap)
        hm = heat_only(it.heatmap, img.shape[:2])
        stem = _safe(it.name)
        write(out / "overlays" / f"{stem}.png", _png_bytes(ov))
        write(out / "heatmaps" / f"{stem}.png", _png_bytes(hm))
        buf = io.BytesIO()
        np.save(buf, it.heatmap.numpy())
        write(out / "maps" / f"{stem}.npy", buf.getvalue())
        top1 = it.top[0] if it.top else ("", float("nan"))
        rows.append(
            {
                "image": it.name,
                "fid_contribution": it.contribution,
                "fid_with_image": it.fid_with,
                "top1_class": top1[0],
                "top1_prob": top1[1],
            }
        )
        classes = "".join(f"<li>{html.escape(n)} <span>{p:.3f}</span></li>" for n, p in it.top)
        cards.append(
            f'<div class="card"><h3>{html.escape(it.name)}</h3><div class="pair">'
            f'<img src="{data_uri(_thumb(img))}" alt="image"><img src="{data_uri(_thumb(ov))}" alt="overlay"></div>'
            f"<p>{label} contribution <b>{it.contribution:+.4f}</b> ({label} with it {it.fid_with:.4f})"
            f"{_negative_note(it.contribution, loo, label)}</p><ol>{classes}</ol></div>"
        )
    write(out / "explanations.csv", pd.DataFrame(rows).to_csv(index=False))
    hist_png = histogram_figure(exp.histograms) if exp.histograms is not None else None
    if hist_png:
        write(out / "class_histogram.png", hist_png)
    summary = {
        "fid": exp.fid,
        "value_label": exp.label,  # "FID", or "FD (ridge r)": with a ridge "fid" is not FID
        "n_ref": exp.n_ref,
        "n_gen": exp.n_gen,
        "extractor": exp.extractor,
        "top1_overlap": exp.histograms.overlap if exp.histograms else None,
        "settings": exp.settings,
        "failed": exp.failed,
    }
    write(out / "summary.json", json.dumps(summary, indent=1))
    write(out / "gallery.html", _page(exp, cards, hist_png, command))
    return {"html": out / "gallery.html", "csv": out / "explanations.csv", "summary": out / "summary.json"}


def _negative_note(contribution: float, loo: bool, label: str) -> str:
    """A sentence beside a negative contribution (contribution = distance with the image minus without)."""
    if contribution >= 0:
        return ""
    if loo:
        return (
            f". <i>Negative: the set's {label} is lower with this image than without it; removing it would raise "
            "the distance (its features pull the generated statistics towards the reference).</i>"
        )
    return f". <i>Negative: adding this image to the generated set would lower its {label}.</i>"


def _sign_convention(loo: bool, label: str) -> str:
    if loo:
        return (
            f"Contribution = {label} of the generated set with the image minus {label} without it: positive images "
            f"raise the distance, negative ones lower it (removing them would raise {label}). "
        )
    return (
        f"Contribution = {label} of the generated set with the image added minus {label} without it: positive "
        "images would raise the distance, negative ones would lower it. "
    )


_CSS = """body{font-family:sans-serif;margin:1.5em;max-width:1400px}.grid{display:flex;flex-wrap:wrap;gap:14px}
.card{border:1px solid #ccc;border-radius:6px;padding:8px;width:min(790px,100%)}.card h3{font-size:13px;margin:2px 0}
.pair{display:flex;gap:6px}.pair img{max-width:384px;width:49%;height:auto}ol{font-size:12px;margin:4px 0}
ol span{color:#666}p{font-size:13px;margin:4px 0}code{background:#f4f4f4;padding:1px 4px}"""


def _page(exp: FIDExplanation, cards: list[str], hist_png: bytes | None, command: str) -> str:
    s = exp.settings
    how = (
        "its own features left out of the generated statistics and then added back"
        if s.get("leave_one_out")
        else "added to the generated statistics (the reference's N - 1 + 1 set-up)"
    )
    hist = f'<h2>Top-1 classes</h2><img src="{data_uri(hist_png)}" alt="class histogram">' if hist_png else ""
    label = html.escape(exp.label)
    ridge = (
        f" (Frechet distance with {s['ridge']:g} x the mean reference feature variance added to both covariances, "
        "so not FID)"
        if s.get("ridge")
        else ""
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>FID explanation</title><style>{_CSS}</style></head><body>"
        f"<h1>Where FID looks: {html.escape(exp.extractor)}</h1>"
        f"<p>{label} {exp.fid:.4f} between {exp.n_ref} reference and {exp.n_gen} generated images{ridge}. "
        f"Each image is {how}; the map is the {html.escape(s.get('weighting', ''))}-weighted sum of the extractor's "
        f"last spatial map ({html.escape(s.get('route', ''))} gradient; Kynkaanniemi et al., ICLR 2023). "
        f"Images are sorted by how much they raise {label}. {_sign_convention(bool(s.get('leave_one_out')), label)}</p>"
        f"{hist}<h2>Images</h2><div class='grid'>{''.join(cards)}</div>"
        f"<h2>Settings</h2><pre>{html.escape(json.dumps(s, indent=1))}</pre>"
        + (f"<p>Command: <code>{html.escape(command)}</code></p>" if command else "")
        + "</body></html>"
    )
