"""``iqa.functional``: every per-image metric has its pure function there, and the class calls it."""

from __future__ import annotations

import inspect

import pytest
import torch

import iqa
import iqa.functional as F
from iqa.registry import get_metric_class

PER_IMAGE = [n for n in iqa.list_metrics() if iqa.get_spec(n).kind in ("fr", "nr")]


@pytest.mark.parametrize("name", PER_IMAGE)
def test_every_metric_has_its_function_in_functional(name: str) -> None:
    cls = get_metric_class(name)
    fn = getattr(cls, "function", None)
    assert fn is not None, f"{name}: set `function = staticmethod(<pure function>)` on the class"
    assert getattr(F, fn.__name__, None) is fn, f"add `{fn.__name__}` to iqa/functional.py"
    assert fn.__name__ in F.__all__
    params = inspect.signature(fn).parameters
    positional = [p for p, v in params.items() if v.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert positional == (["img", "ref"] if iqa.get_spec(name).kind == "fr" else ["img"]), positional
    assert "data_range" in params and params["data_range"].kind is inspect.Parameter.KEYWORD_ONLY


@pytest.mark.parametrize(
    "name,options",
    [("psnr", {}), ("ssim", {"downsample": False}), ("ms_ssim", {}), ("gmsd", {}), ("fsimc", {}), ("srsim", {})],
)
def test_class_equals_function(name: str, options: dict, photos: torch.Tensor) -> None:
    x = photos[:2].double()
    y = (x * 0.9 + 0.05).clamp(0, 1)
    m = iqa.create(name, data_range=255, **options)
    fn = getattr(F, name)
    assert torch.equal(m(y * 255, x * 255), fn(y * 255, x * 255, data_range=255, **options))


def test_distribution_statistics_are_exposed() -> None:
    a = F.GaussianStats.from_features(torch.randn(300, 4, dtype=torch.float64))
    assert float(F.frechet_distance(a.mean, a.cov, a.mean, a.cov)) == pytest.approx(0.0, abs=1e-9)
