"""The converter registry: converters register next to their networks, the CLI dispatches by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from iqa.errors import DuplicateNameError, InputError
from iqa.registry import Registry
from iqa.weights.converters import CONVERTERS, Converter, ConverterArg


def test_release_converters_register_when_their_modules_are_imported() -> None:
    import iqa.models

    iqa.models.import_all()
    assert {"contrique", "tanet"} <= set(CONVERTERS.names())
    tanet = CONVERTERS.get("tanet")
    assert tanet.convert.__module__ == "iqa.models.tanet_weights"
    assert [a.name for a in tanet.args] == ["file", "variant"] and tanet.args[1].choices == ("tad66k", "ava")
    with pytest.raises(InputError, match="(?i)did you mean 'tanet'"):
        CONVERTERS.get("tanett")


def test_run_fills_declared_defaults_and_passes_out_dir(tmp_path: Path) -> None:
    calls = []

    def convert(file: Path, variant: str, *, out_dir: Path | None = None) -> list[Path]:
        calls.append((file, variant, out_dir))
        return [tmp_path / "x.safetensors"]

    conv = Converter(
        "demo",
        convert,
        "demo.",
        (ConverterArg("file", "f", positional=True), ConverterArg("variant", "v", default="a")),
    )
    assert conv.run({"file": tmp_path}, out_dir=tmp_path / "o") == [tmp_path / "x.safetensors"]
    assert calls == [(tmp_path, "a", tmp_path / "o")]
    reg: Registry[Converter] = Registry("weights converter")
    reg.add("demo", conv)
    reg.add("demo", conv)  # the same entry again is a no-op
    with pytest.raises(DuplicateNameError):
        reg.add("demo", Converter("demo", convert, "another."))


def test_cli_subcommand_from_the_declarations(tmp_path: Path) -> None:
    from iqa.cli.main import cli

    r = CliRunner().invoke(cli, ["weights", "convert", "tanet", "--help"])
    assert r.exit_code == 0 and "--variant [tad66k|ava]" in r.output and "--out-dir" in r.output, r.output
    r = CliRunner().invoke(cli, ["weights", "convert", "tanet"])  # FILE is required
    assert r.exit_code == 2 and "FILE" in r.output, r.output
    r = CliRunner().invoke(cli, ["weights", "convert", "tanet", str(tmp_path), "--variant", "x"])
    assert r.exit_code == 2
