"""Declared, typed options: coercion of text, allowed values, ranges, docs, and the CLI's exit status."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError, UnknownOptionError
from iqa.metrics.base import DataRange, NRMetric
from iqa.options import Range, coerce_options, option_infos


class _Toy(NRMetric):
    """A metric used only to exercise the option machinery.

    Args:
        window: side of the window.
        mode: pooling, one of the listed values.
        scale: optional factor, None for automatic.
        flag: a switch.
        weights: per-scale weights.
        path: a file.
    """

    def __init__(
        self,
        *,
        data_range: DataRange = 1.0,
        window: Annotated[int, Range(1, odd=True)] = 11,
        mode: Literal["mean", "max"] = "mean",
        scale: Annotated[float, Range(0.0, min_open=True)] | None = None,
        flag: bool = False,
        weights: tuple[float, ...] = (0.5, 0.5),
        path: str | Path | None = None,
    ) -> None:
        super().__init__(data_range=data_range)
        self.window, self.mode, self.scale, self.flag, self.weights, self.path = (
            window,
            mode,
            scale,
            flag,
            weights,
            path,
        )

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return img.flatten(1).mean(1)


def test_text_is_coerced_to_the_declared_types() -> None:
    m = _Toy(window="7", mode="max", scale="0.5", flag="yes", weights="(0.2, 0.8)", path="a/b.pt", data_range="255")
    assert (m.window, m.mode, m.scale, m.flag, m.weights) == (7, "max", 0.5, True, (0.2, 0.8))
    assert m.path == "a/b.pt" and m.data_range == 255.0  # a str path stays a str: it already has a declared type
    assert _Toy(scale="none").scale is None and _Toy(flag="0").flag is False
    assert isinstance(_Toy(scale=2).scale, float)


@pytest.mark.parametrize(
    "options,message",
    [
        ({"window": 4}, "must be odd"),
        ({"window": -3}, "must be >= 1"),
        ({"window": "x"}, "allowed values: int"),
        ({"window": True}, "allowed values: int"),
        ({"mode": "median"}, "allowed values: 'mean', 'max'"),
        ({"scale": 0.0}, "must be > 0.0"),
        ({"flag": "maybe"}, "allowed values: true, false"),
        ({"data_range": -1}, "must be > 0.0"),
    ],
)
def test_bad_values_name_the_option_and_the_allowed_values(options: dict, message: str) -> None:
    with pytest.raises(InputError, match=message) as e:
        _Toy(**options)
    assert next(iter(options)) in str(e.value)


def test_unknown_and_positional_options() -> None:
    with pytest.raises(UnknownOptionError, match="did you mean 'window'"):
        _Toy(windw=3)
    with pytest.raises(TypeError, match="keyword options only"):
        _Toy(3)  # type: ignore[misc]


def test_infos_carry_type_default_choices_range_and_doc() -> None:
    infos = option_infos(_Toy)
    assert list(infos) == ["data_range", "window", "mode", "scale", "flag", "weights", "path"]
    assert infos["mode"].choices == ("mean", "max") and infos["mode"].doc.startswith("pooling")
    assert infos["window"].range == Range(1, odd=True) and infos["window"].default == 11
    assert infos["scale"].type_name == "float | None"
    assert infos["data_range"].doc.startswith("value of white")  # inherited from the base class docstring
    assert coerce_options("toy", _Toy, {"flag": "off"}) == {"flag": False}


def test_issue_examples_on_a_real_metric() -> None:
    m = iqa.create("ssim", downsample="false")
    assert m.downsample is False and m.options()["downsample"] is False
    with pytest.raises(InputError, match="allowed values: true, false"):
        iqa.create("ssim", downsample="maybe")
    with pytest.raises(InputError, match="kernel_size"):
        iqa.create("ssim", kernel_size=-11)
    with pytest.raises(InputError, match="data_range"):
        iqa.create("psnr", data_range=0)


@pytest.mark.parametrize("name", iqa.list_metrics())
def test_every_option_is_declared_documented_and_stored(name: str) -> None:
    """`iqa info` shows a type, default and doc for each option; instances report it under its own name."""
    from iqa.registry import get_metric_class

    cls = get_metric_class(name)
    infos = cls.declared_options()  # type: ignore[attr-defined]
    missing = [k for k, o in infos.items() if not o.doc]
    assert not missing, f"{name}: options without a one-line doc: {missing}"
    untyped = [k for k, o in infos.items() if o.type_name in ("Any", "typing.Any")]
    assert not untyped, f"{name}: options without a type: {untyped}"


def test_cli_rejects_a_bad_option_value_before_scoring(tmp_path: Path) -> None:
    for d in ("d", "r"):
        (tmp_path / d).mkdir()
        Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(tmp_path / d / "a.png")
    args = ["score", str(tmp_path / "d"), "--ref", str(tmp_path / "r"), "-m", "ssim", "-o", str(tmp_path / "o.csv")]
    res = CliRunner().invoke(cli, [*args, "--opt", "ssim.downsample=maybe"])
    assert res.exit_code == 2, res.output
    assert "downsample" in res.output and "allowed values: true, false" in res.output
    assert not (tmp_path / "o.csv").exists()
    ok = CliRunner().invoke(cli, [*args, "--opt", "ssim.downsample=false"])
    assert ok.exit_code == 0, ok.output
