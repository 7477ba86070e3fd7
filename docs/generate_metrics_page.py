"""Generate docs/metrics.md from the registry: python docs/generate_metrics_page.py

tests/test_docs.py fails when the committed page differs from what this script writes.
"""

from __future__ import annotations

import math
from pathlib import Path

import iqa

PAGE = Path(__file__).resolve().parent / "metrics.md"


def _fmt(v: float) -> str:
    return ("inf" if v > 0 else "-inf") if math.isinf(v) else f"{v:g}"


def render() -> str:
    lines = [
        "# Metrics",
        "",
        "Generated from the registry by `python docs/generate_metrics_page.py`; do not edit by hand.",
        "`iqa info NAME` prints the same and the options.",
        "",
        "| name | kind | better | range | differentiable | colour | reference implementation | tolerance |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in iqa.list_metrics():
        s = iqa.get_spec(name)
        lo, hi = s.value_range
        lines.append(
            f"| `{name}` | {s.kind} | {'higher' if s.higher_is_better else 'lower'} | [{_fmt(lo)}, {_fmt(hi)}] | "
            f"{'yes' if s.differentiable else 'no'} | {s.color} | {s.reference_impl} | {s.tolerance} |"
        )
    lines += ["", "## Papers", ""]
    lines += [f"- `{n}`: {iqa.get_spec(n).paper}" for n in iqa.list_metrics()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    PAGE.write_text(render())
    print(f"wrote {PAGE}")
