"""Write a correlation report: CSV tables, markdown with figures, one self-contained HTML file.

Layout of ``OUT/``: ``summary.csv``, ``scores.csv`` (per image), ``per_group_<column>.csv``,
``pairwise.csv``, ``report.md`` + ``figures/*.png``, ``report.html`` (figures embedded as base64,
no network access needed to view it). Files are written to temporaries and renamed.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd

from iqa.evaluation.analysis import CorrelationResult
from iqa.reports._figures import group_bars, scatter
from iqa.reports._files import data_uri, html_table, md_table, write


def _summary_view(result: CorrelationResult) -> pd.DataFrame:
    o = result.overall
    o = o.reindex(
        columns=[*o.columns, *[c for c in ("srcc", "krcc", "plcc", "rmse", "fit", "fit_converged") if c not in o]]
    )
    view = pd.DataFrame({"metric": o["metric"], "n": o["n"]})
    level = int(round(result.settings.get("level", 0.95) * 100))
    num = lambda v: "n/a" if pd.isna(v) else f"{v:.4f}"  # noqa: E731
    for stat in ("srcc", "plcc"):
        if f"{stat}_lo" in o:
            view[f"{stat.upper()} [{level}% CI]"] = [
                "n/a" if pd.isna(v) else f"{v:.4f} [{lo:.3f}, {hi:.3f}]"
                for v, lo, hi in zip(o[stat], o[f"{stat}_lo"], o[f"{stat}_hi"])
            ]
        else:
            view[stat.upper()] = o[stat].map(num)
    view["KRCC"] = o["krcc"].map(num)
    view["RMSE"] = o["rmse"].map(num)
    requested = result.settings.get("fit", "")
    view["fit"] = [_fit_cell(k, c, requested) for k, c in zip(o["fit"], o["fit_converged"])]
    view["errors"] = [f"{n}: {e[:120]}" if n else "0" for n, e in zip(o["errors"], o["first_error"].fillna(""))]
    if "capped_inf" in o and o["capped_inf"].any():
        view["infinite"] = o["capped_inf"]  # e.g. PSNR of unchanged images: ranked above all, capped for PLCC
    return view


def _fit_cell(kind: object, converged: object, requested: str) -> str:
    if pd.isna(kind):
        return ""
    if kind == "skipped":
        return f"skipped (too few points for {requested})"
    return str(kind) if converged else f"{kind} (the {requested} fit failed or was not monotonic)"


def _title(result: CorrelationResult) -> str:
    metrics = ", ".join(result.metrics)
    if result.synthetic:  # never "MOS": the scores are a proxy, not opinions
        return (
            f"{result.dataset} format, SYNTHETIC ({result.split}): agreement of {metrics} with the {result.score_name}"
        )
    return f"{result.dataset} ({result.split}): agreement of {metrics} with {result.score_name}"


def _figures_of(result: CorrelationResult) -> list[tuple[str, str, bytes]]:
    """(file name, caption, PNG) for the scatter plots and per-group bars."""
    color_by = next((c for c in ("family", "distortion", "theme") if c in result.per_group), None)
    figs = [(f"scatter_{m}.png", f"{m} vs {result.score_name}", scatter(result, m, color_by)) for m in result.scored]
    for col in result.per_group:
        png = group_bars(result, col)
        if png is not None:
            figs.append((f"groups_{col}.png", f"SRCC per {col}", png))
    return figs


CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}figure{display:inline-block;margin:.5em;max-width:47%;vertical-align:top}figure img{max-width:100%}figure.wide{max-width:96%}"
    "figcaption{font-size:12px;color:#555;text-align:center}.note{color:#555;font-size:13px}"
)


def write_correlation_report(result: CorrelationResult, out: str | Path, *, command: str = "") -> dict[str, Path]:
    """Write every report file under ``out``; returns their paths by kind."""
    out = Path(out)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    tables = {"summary": result.overall, "scores": result.table, "pairwise": result.pairwise}
    tables.update({f"per_group_{c}": df for c, df in result.per_group.items()})
    for name, df in tables.items():
        if len(df):
            paths[name] = out / f"{name}.csv"
            write(paths[name], df.to_csv(index=False))
    figs = _figures_of(result)
    for fname, _, png in figs:
        write(out / "figures" / fname, png)
    title = _title(result)
    s = result.settings
    settings = (f"n = {int(result.overall['n'].max())} images; fit {s['fit']}; {s['n_boot']} bootstrap replicates, "
                f"seed {s['seed']}; scores oriented so that higher means better ({result.score_name} is "
                f"{'higher' if s['mos_higher_is_better'] else 'lower'}-is-better)")  # fmt: skip
    summary = _summary_view(result)
    md = [f"# {title}\n", f"{settings}.\n", *[f"Note: {n.rstrip('.')}.\n" for n in result.notes], md_table(summary)]
    if command:
        md.insert(1, f"Command: `{command}`\n")
    md += [f"![{cap}](figures/{f})\n" for f, cap, _ in figs]
    for col, df in result.per_group.items():
        md += [
            f"\n## SRCC per {col}\n",
            md_table(df.pivot(index="group", columns="metric", values="srcc").reset_index()),
        ]
    if len(result.pairwise):
        md += ["\n## Pairwise significance (SRCC)\n", md_table(result.pairwise)]
    paths["markdown"] = out / "report.md"
    write(paths["markdown"], "\n".join(md))
    body = [f"<h1>{html.escape(title)}</h1>", f"<p class=note>{html.escape(settings)}</p>"]
    if command:
        body.append(f"<p class=note>Command: <code>{html.escape(command)}</code></p>")
    body += [f"<p class=note><b>Note:</b> {html.escape(n.rstrip('.'))}.</p>" for n in result.notes]
    body += ["<h2>Summary</h2>", html_table(summary), "<h2>Plots</h2>"]
    body += [f'<figure{" class=wide" if f.startswith("groups_") else ""}><img alt="{html.escape(cap)}" '
             f'src="{data_uri(png)}"><figcaption>{html.escape(cap)}</figcaption></figure>'
             for f, cap, png in figs]  # fmt: skip
    for col, df in result.per_group.items():
        body += [
            f"<h2>SRCC per {html.escape(col)}</h2>",
            html_table(df.pivot(index="group", columns="metric", values="srcc").reset_index()),
        ]
    if len(result.pairwise):
        body += ["<h2>Pairwise significance (SRCC)</h2>",
                 "<p class=note>Williams' test for dependent correlations and a paired bootstrap of the SRCC difference (a - b).</p>",
                 html_table(result.pairwise)]  # fmt: skip
    page = f"<!doctype html><html><head><meta charset=utf-8><title>{html.escape(title)}</title><style>{CSS}</style></head><body>{''.join(body)}</body></html>"
    paths["html"] = out / "report.html"
    write(paths["html"], page)
    return paths
