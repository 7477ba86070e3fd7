"""RBF support-vector regressors read from text model files (libsvm and OpenCV), never pickled.

libsvm's text format (``svm-train`` output, e.g. BRISQUE's ``allmodel``): a header
(``svm_type``, ``kernel_type``, ``gamma``, ``rho``, ...) then ``SV`` and one line per support
vector: ``coef index:value ...``. libsvm's range file (``svm-scale -s``, e.g. ``allrange``):
``x``, ``lower upper``, then ``index min max`` lines. OpenCV's ``cv::ml::SVM`` YAML
(``opencv_ml_svm``): ``gamma``, ``support_vectors`` (a list of rows) and
``decision_functions`` (``rho``, ``alpha``); its BRISQUE range file holds a 2 x n
``!!opencv-matrix`` of per-feature minima and maxima.

Prediction (both libraries): sum_i coef_i exp(-gamma ||sv_i - x||^2) - rho.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import torch

from iqa.errors import InputError


@dataclass(frozen=True)
class RBFSVR:
    """An epsilon-SVR with an RBF kernel: sum_i coef_i exp(-gamma ||sv_i - x||^2) - rho.

    Attributes:
        sv: support vectors, (n_sv, dim) float64, in the scaled feature space.
        coef: their coefficients, (n_sv,).
        rho: the offset subtracted from the kernel sum.
        gamma: the RBF kernel's gamma.
    """

    sv: torch.Tensor
    coef: torch.Tensor
    rho: float
    gamma: float

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """(N, dim) scaled features -> (N,) regression values, in float64."""
        d2 = torch.cdist(x.double(), self.sv.to(x.device), compute_mode="donot_use_mm_for_euclid_dist") ** 2
        return torch.exp(-self.gamma * d2) @ self.coef.to(x.device) - self.rho


@dataclass(frozen=True)
class FeatureRange:
    """Per-feature min-max scaling to [lower, upper] (libsvm's ``svm-scale``, OpenCV's range file).

    Attributes:
        lower: value a feature at its minimum maps to.
        upper: value a feature at its maximum maps to.
        fmin: per-feature minima seen in training, (dim,).
        fmax: per-feature maxima, (dim,).
    """

    lower: float
    upper: float
    fmin: torch.Tensor
    fmax: torch.Tensor

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        """svm-scale: lower + (upper - lower) (x - min) / (max - min) per feature."""
        fmin, fmax = self.fmin.to(x), self.fmax.to(x)
        return self.lower + (self.upper - self.lower) * (x - fmin) / (fmax - fmin)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii")
    except UnicodeDecodeError:
        raise _bad(path, "not a text file") from None


def _bad(path: Path, what: str) -> InputError:
    return InputError(
        f"{path}: {what}; expected the text file shipped with the model (not a pickle or a converted copy)"
    )


def read_libsvm_model(path: str | Path) -> RBFSVR:
    path = Path(path)
    header, rows = {}, []
    lines = _text(path).splitlines()
    try:
        start = lines.index("SV")
    except ValueError:
        raise _bad(path, "no 'SV' line: not a libsvm model") from None
    for line in lines[:start]:
        key, _, value = line.partition(" ")
        header[key] = value.strip()
    if header.get("svm_type") != "epsilon_svr" or header.get("kernel_type") != "rbf":
        raise _bad(
            path, f"need an epsilon_svr with an rbf kernel, got {header.get('svm_type')}/{header.get('kernel_type')}"
        )
    coefs = []
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        coef, *pairs = line.split()
        coefs.append(float(coef))
        rows.append({int(k): float(v) for k, v in (p.split(":") for p in pairs)})
    dim = max(max(r) for r in rows)
    sv = torch.zeros(len(rows), dim, dtype=torch.float64)
    for i, r in enumerate(rows):
        for k, v in r.items():
            sv[i, k - 1] = v
    if "total_sv" in header and int(header["total_sv"]) != len(rows):
        raise _bad(path, f"header says {header['total_sv']} support vectors, found {len(rows)}")
    return RBFSVR(sv, torch.tensor(coefs, dtype=torch.float64), float(header["rho"]), float(header["gamma"]))


def read_libsvm_range(path: str | Path, dim: int) -> FeatureRange:
    path = Path(path)
    lines = [ln.split() for ln in _text(path).splitlines() if ln.strip()]
    if not lines or lines[0] != ["x"] or len(lines[1]) != 2:
        raise _bad(path, "not a libsvm feature-range file (first lines 'x' and 'lower upper')")
    lower, upper = float(lines[1][0]), float(lines[1][1])
    fmin = torch.full((dim,), float("nan"), dtype=torch.float64)
    fmax = fmin.clone()
    for row in lines[2:]:
        if len(row) != 3 or not 1 <= int(row[0]) <= dim:
            raise _bad(path, f"range line {' '.join(row)!r} is not 'index min max' with 1 <= index <= {dim}")
        fmin[int(row[0]) - 1], fmax[int(row[0]) - 1] = float(row[1]), float(row[2])
    if torch.isnan(fmin).any():
        raise _bad(path, f"ranges for {int(torch.isnan(fmin).sum())} of {dim} features are missing")
    return FeatureRange(lower, upper, fmin, fmax)


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(_NUM, text)]


def _bracketed(text: str, key: str, path: Path) -> str:
    m = re.search(rf"\b{key}:\s*\[(.*?)\]", text, re.S)
    if m is None:
        raise _bad(path, f"no '{key}: [...]' entry")
    return m.group(1)


def read_opencv_svm(path: str | Path) -> RBFSVR:
    path = Path(path)
    text = _text(path)
    if "opencv_ml_svm" not in text or "EPS_SVR" not in text or "RBF" not in text:
        raise _bad(path, "not an OpenCV EPS_SVR model with an RBF kernel")
    gamma = float(re.search(rf"gamma:\s*({_NUM})", text).group(1))  # type: ignore[union-attr]
    dim = int(re.search(r"var_count:\s*(\d+)", text).group(1))  # type: ignore[union-attr]
    sv_block = text[text.index("support_vectors:") : text.index("decision_functions:")]
    rows = [_numbers(r) for r in re.findall(r"-\s*\[(.*?)\]", sv_block, re.S)]
    if any(len(r) != dim for r in rows):
        raise _bad(path, f"support vectors must have {dim} values each")
    df = text[text.index("decision_functions:") :]
    rho = float(re.search(rf"rho:\s*({_NUM})", df).group(1))  # type: ignore[union-attr]
    alpha = _numbers(_bracketed(df, "alpha", path))
    if len(alpha) != len(rows) or re.search(r"\bindex:", df):
        raise _bad(path, "expected one alpha per support vector and no compressed index")
    return RBFSVR(torch.tensor(rows, dtype=torch.float64), torch.tensor(alpha, dtype=torch.float64), rho, gamma)


def read_opencv_range(path: str | Path) -> FeatureRange:
    path = Path(path)
    text = _text(path)
    rows = int(re.search(r"rows:\s*(\d+)", text).group(1))  # type: ignore[union-attr]
    cols = int(re.search(r"cols:\s*(\d+)", text).group(1))  # type: ignore[union-attr]
    data = _numbers(_bracketed(text, "data", path))
    if rows != 2 or len(data) != rows * cols:
        raise _bad(path, f"expected a 2 x n range matrix, got {rows} x {cols} with {len(data)} values")
    t = torch.tensor(data, dtype=torch.float64).view(2, cols)
    return FeatureRange(-1.0, 1.0, t[0], t[1])
