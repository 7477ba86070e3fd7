"""What every report writer shares: atomic files, embedded images, tables in markdown and HTML."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

import pandas as pd

from iqa.atomic import atomic_write_bytes, atomic_write_text


def write(path: Path, data: bytes | str) -> Path:
    """Write ``data`` (bytes, or text as UTF-8) to ``path`` atomically."""
    if isinstance(data, bytes):
        return atomic_write_bytes(path, data)
    return atomic_write_text(path, data)


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI, so the HTML file needs nothing beside it."""
    return f"data:image/png;base64,{base64.b64encode(png).decode()}"


def fmt(v: object) -> str:
    """A table cell: floats with 4 decimals, NaN empty."""
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def md_table(df: pd.DataFrame) -> str:
    head = "| " + " | ".join(map(str, df.columns)) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(fmt(v) for v in row) + " |\n" for row in df.itertuples(index=False))


def html_table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(fmt(v))}</td>" for v in row) + "</tr>" for row in df.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
