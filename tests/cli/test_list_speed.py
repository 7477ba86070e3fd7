"""`iqa list` / `iqa info` read a static index (no torch import); it must match the registry; piped output is plain."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

import iqa
from iqa.cli import metric_index
from iqa.cli.main import cli
from iqa.registry import get_metric_class


def test_index_is_current() -> None:
    """The committed index equals what the registry gives now (specs, docs, options)."""
    now = json.loads(json.dumps(metric_index.build()))  # as the JSON round trip stores it
    committed = metric_index.load()
    missing, new = sorted(set(committed) - set(now)), sorted(set(now) - set(committed))
    changed = [n for n in now if n in committed and now[n] != committed[n]]
    assert not (missing or new or changed), (
        f"the metric index is stale (gone: {missing}, new: {new}, changed: {changed}); "
        f"regenerate it with `{metric_index.GENERATOR}`"
    )


def _run_in_fresh_python(*args: str) -> tuple[str, bool]:
    code = (
        "import sys\nfrom iqa.cli.main import cli\n"
        f"try:\n    cli({list(args)!r})\nexcept SystemExit as e:\n    assert not e.code, e.code\n"
        "print('TORCH_IMPORTED', 'torch' in sys.modules)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    out, _, flag = r.stdout.rpartition("TORCH_IMPORTED ")
    return out, flag.strip() == "True"


@pytest.mark.parametrize("args", [("list",), ("info", "ssim"), ("list", "--format", "json"), ("weights", "list")])
def test_listing_does_not_import_torch(args: tuple[str, ...]) -> None:
    out, torch_imported = _run_in_fresh_python(*args)
    assert out.strip() and not torch_imported


def test_piped_list_is_plain_and_whole() -> None:
    env = {**os.environ, "COLUMNS": "40"}  # a narrow terminal width: a rich table would cut names here
    r = subprocess.run([sys.executable, "-m", "iqa.cli.main", "list"], capture_output=True, text=True, env=env,
                       timeout=120, check=True)  # fmt: skip
    lines = r.stdout.splitlines()
    assert not any(ch in r.stdout for ch in "│┃━─┏└…"), "table art or an ellipsis in piped output"
    assert lines[0].split() == ["name", "kind", "better", "range", "grad", "colour", "summary"]
    assert [ln.split()[0] for ln in lines[1:]] == iqa.list_metrics()
    ssim = next(ln for ln in lines if ln.startswith("ssim "))
    assert ssim.endswith(iqa.get_spec("ssim").summary)  # the summary whole, not cut to the width


def test_formats_json_and_csv_match_the_registry() -> None:
    r = CliRunner().invoke(cli, ["list", "--format", "json", "--kind", "fr"])
    assert [s["name"] for s in json.loads(r.output)] == iqa.list_metrics(kind="fr")
    assert json.loads(r.output)[0] == iqa.get_spec(iqa.list_metrics(kind="fr")[0]).to_dict()
    r = CliRunner().invoke(cli, ["list", "--format", "csv", "--pattern", "ssim*"])
    rows = list(csv.DictReader(io.StringIO(r.output)))
    assert [x["name"] for x in rows] == iqa.list_metrics(pattern="ssim*") and rows[0]["range"] == "[-1, 1]"
    r = CliRunner().invoke(cli, ["info", "ssim", "--format", "csv"])
    opts = list(csv.DictReader(io.StringIO(r.output)))
    assert [o["name"] for o in opts] == list(get_metric_class("ssim").declared_options())
    r = CliRunner().invoke(cli, ["info", "ssim"])
    assert "downsample (" in r.output and "range: [-1, 1]" in r.output


def test_unknown_name_suggests_from_the_index() -> None:
    r = CliRunner().invoke(cli, ["info", "ssmi"])
    assert r.exit_code == 2 and "Did you mean: ssim" in r.output
