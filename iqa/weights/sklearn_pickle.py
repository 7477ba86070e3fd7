"""Read a pickled scikit-learn ``Ridge`` (CONTRIQUE's ``models/*.save``) without running its code.

A pickle can call any importable function. This reader resolves only the few globals a Ridge pickle
names (sklearn's class, which becomes an inert attribute holder, and NumPy's array and scalar
rebuilders) and refuses everything else with the name it met. It runs once, at conversion time
(``iqa weights convert contrique``); metrics load the resulting safetensors, never a pickle.
"""

from __future__ import annotations

import importlib
import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from iqa.errors import WeightsError

_RIDGE_CLASSES = {("sklearn.linear_model._ridge", "Ridge"), ("sklearn.linear_model.ridge", "Ridge")}
_NUMPY = {"_reconstruct", "scalar"}
_NUMPY_MODULES = {"numpy.core.multiarray", "numpy._core.multiarray"}


class _Attributes:
    """Stands in for the sklearn estimator: keeps the pickled state as plain attributes."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _numpy(submodule: str, name: str) -> Any:
    """``numpy._core.<submodule>.<name>`` (NumPy 2), else ``numpy.core`` (NumPy 1): pickles name either."""
    try:
        return getattr(importlib.import_module(f"numpy._core.{submodule}"), name)
    except ImportError:
        return getattr(importlib.import_module(f"numpy.core.{submodule}"), name)


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        # protocols 0-2 write Python 2 names
        module = {"copy_reg": "copyreg", "__builtin__": "builtins"}.get(module, module)
        if (module, name) == ("builtins", "object"):
            return object
        if (module, name) in _RIDGE_CLASSES:
            return _Attributes
        if module in _NUMPY_MODULES and name in _NUMPY:
            return _numpy("multiarray", name)
        if (module, name) in {("numpy", "ndarray"), ("numpy", "dtype")}:
            return getattr(np, name)
        if (module, name) == ("copyreg", "_reconstructor"):
            return _reconstructor
        if (module, name) == ("_codecs", "encode"):  # protocol 2 stores bytes as latin-1 text
            return _latin1
        if module in {"numpy.core.numeric", "numpy._core.numeric"} and name == "_frombuffer":  # protocol 5 arrays
            return _numpy("numeric", name)
        raise pickle.UnpicklingError(f"refused global {module}.{name}: a Ridge pickle never needs it")


def _latin1(text: str, encoding: str = "latin1") -> bytes:
    if encoding != "latin1":
        raise pickle.UnpicklingError(f"refused _codecs.encode with {encoding!r}")
    return text.encode("latin1")


def _reconstructor(cls: type, base: type, state: object) -> _Attributes:  # copyreg's signature (protocol 0/1 pickles)
    if cls is not _Attributes or base is not object or state is not None:
        raise pickle.UnpicklingError("refused copyreg._reconstructor on anything but the Ridge stand-in")
    return _Attributes()


def read_sklearn_ridge(path: str | Path) -> dict[str, Any]:
    """``coef`` (float64, (d,)), ``intercept``, ``alpha``, ``fit_intercept`` and ``sklearn_version`` of a pickled Ridge."""
    path = Path(path)
    try:
        obj = _RestrictedUnpickler(io.BytesIO(path.read_bytes())).load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise WeightsError(
            f"{path}: not a readable pickled sklearn Ridge ({e}); CONTRIQUE's regressors are models/*.save"
        ) from e
    if not isinstance(obj, _Attributes) or not hasattr(obj, "coef_"):
        raise WeightsError(f"{path}: the pickle does not hold a fitted sklearn Ridge (no coef_)")
    coef = np.asarray(obj.coef_, dtype=np.float64)
    if coef.ndim == 2 and coef.shape[0] == 1:
        coef = coef[0]
    if coef.ndim != 1:
        raise WeightsError(f"{path}: Ridge with {coef.shape} coefficients; one output was expected")
    return {"coef": coef, "intercept": float(np.asarray(getattr(obj, "intercept_", 0.0)).reshape(-1)[0]),
            "alpha": float(getattr(obj, "alpha", float("nan"))), "fit_intercept": bool(getattr(obj, "fit_intercept", True)),
            "sklearn_version": str(getattr(obj, "_sklearn_version", "unknown"))}  # fmt: skip
