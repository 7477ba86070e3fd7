"""The BRISQUE release's feature ranges (``allrange``): 36 (min, max) pairs, shipped as data.

BRISQUE's ``brisquescore.m`` scales its 36 features with ``svm-scale -r allrange`` (libsvm) to
[-1, 1] before ``svm-predict`` with ``allmodel``. The file is part of LIVE's
``BRISQUE_release.zip`` and is not on ../shared, so the numbers live here (72 measured minima and
maxima; no code). Provenance:

- the release's ``allrange`` as mirrored in two public repositories, byte-identical up to line
  endings: github.com/dsoellinger/blind_image_quality_toolbox ``+brisque/allrange`` (commit
  1e9b8d01457c0d2c8902ca8e4f5d3fb0df7835cb, CRLF, 741 bytes, sha256 :data:`SHA256_CRLF`) and
  github.com/Jersy97/Image-Quality-Evaluator ``Project_matlab/BRISQUE_matlab/allrange`` (commit
  1f42704ebf8595fb70a5f7f8e6d80e66678fa5eb, LF, 703 bytes, sha256 :data:`SHA256_LF`);
- :func:`libsvm_text` writes the pairs back as libsvm did (``%.16g``, the Windows C runtime's
  three-digit exponents): the tests check that it reproduces both files' hashes byte for byte,
  and that svm-scale of a MATLAB run's features with these ranges gives that run's scaled file.
"""

from __future__ import annotations

import re

#: svm-scale's target interval.
LOWER, UPPER = -1.0, 1.0

#: (min, max) of features 1..36 over the release's training set.
PAIRS: tuple[tuple[float, float], ...] = (
    (0.338, 10.0),
    (0.017204, 0.806612),
    (0.236, 1.642),
    (-0.123884, 0.20293),
    (0.000155, 0.712298),
    (0.001122, 0.470257),
    (0.244, 1.641),
    (-0.123586, 0.179083),
    (0.000152, 0.710456),
    (0.000975, 0.470984),
    (0.249, 1.555),
    (-0.135687, 0.100858),
    (0.000174, 0.684173),
    (0.000913, 0.534174),
    (0.258, 1.561),
    (-0.143408, 0.100486),
    (0.000179, 0.685696),
    (0.000888, 0.536508),
    (0.471, 3.264),
    (0.012809, 0.703171),
    (0.218, 1.046),
    (-0.094876, 0.187459),
    (1.5e-05, 0.442057),
    (0.001272, 0.40803),
    (0.222, 1.042),
    (-0.115772, 0.162604),
    (1.6e-05, 0.444362),
    (0.001374, 0.40243),
    (0.227, 0.996),
    (-0.117188, 0.098323),
    (3e-05, 0.531903),
    (0.001122, 0.369589),
    (0.228, 0.99),
    (-0.12243, 0.098658),
    (2.8e-05, 0.530092),
    (0.001118, 0.370399),
)

#: sha256 of the release file with LF line endings (Jersy97 mirror) and with CRLF (dsoellinger mirror).
SHA256_LF = "3960003bf4c220614fb3664335c49aee4d2e86e28d71f3e790f4c15576f75511"
SHA256_CRLF = "e47d753d96b631e1aa2dbac8c4e51ade767f2def8ce678c7130b6b3f90ee915f"


def _g16(v: float) -> str:
    """C's ``%.16g`` as the Windows runtime prints it (exponents with three digits: 1.5e-005)."""
    return re.sub(r"e([-+])(\d+)$", lambda m: f"e{m.group(1)}{int(m.group(2)):03d}", format(v, ".16g"))


def libsvm_text(newline: str = "\n") -> str:
    """The pairs as svm-scale's range file: ``x``, ``lower upper``, then ``index min max`` lines."""
    lines = ["x", f"{LOWER:g} {UPPER:g}"] + [f"{i} {_g16(lo)} {_g16(hi)}" for i, (lo, hi) in enumerate(PAIRS, 1)]
    return "".join(line + newline for line in lines)
