"""Load golden files and the inputs they name (see tests/golden/make_golden.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from tests.golden.make_golden import cases

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
REQUIRED = ("source", "command", "date", "inputs", "values", "rtol", "atol", "why_tolerance")


def load_golden(metric: str) -> dict:
    """The golden record of ``metric``; a missing file fails (it is never skipped)."""
    doc = json.loads((GOLDEN / f"{metric}.json").read_text())
    missing = [k for k in REQUIRED if k not in doc]
    assert not missing, f"golden/{metric}.json lacks provenance fields {missing}"
    return doc


def golden_inputs() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """key -> (distorted, reference) as float32 (1, 3, H, W) in [0, 1]."""
    t = lambda a: torch.from_numpy(np.array(a)).permute(2, 0, 1).unsqueeze(0).float() / 255  # noqa: E731
    return {key: (t(d), t(r)) for key, d, r in cases()}
