"""Cases for ``benchmarks/bench_learned.py``: one module per network family (issue 21).

Each module defines ``cases(img, ref) -> list[Case]`` where ``img``/``ref`` are float32 (1, 3, H, W)
tensors in [0, 1] decoded from the same image files for every contender. A case builds both
networks with the same random state dict (released key layout) before it is timed, so the timings
compare forward passes only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class Case:
    """One metric variant: iqa's forward and the reference's, on the same inputs and weights.

    Attributes:
        name: registered iqa name (with the variant).
        ours: calls iqa's metric, returns scores (N,).
        reference: calls the reference implementation, returns scores (N,); None when it cannot run here.
        reference_name: e.g. "pyiqa 0.1.16 (test-time reference)".
    """

    name: str
    ours: Callable[[], torch.Tensor]
    reference: Callable[[], torch.Tensor] | None
    reference_name: str
