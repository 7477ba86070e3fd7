"""TOPIQ-NR: parity with pyiqa end to end from an image file, the variants' input paths, the CLI.

The released checkpoints are not offline: every test builds a seeded random state dict in the
released key layout (tests/models/test_topiq.py checks that layout key by key against pyiqa).
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import iqa
from iqa.cli.main import cli
from iqa.errors import InputError
from iqa.io.images import read_image
from iqa.metrics.nr.topiq_nr import topiq_nr
from tests.models.test_topiq import net_with, photo_files, pyiqa_metric, release_state


@pytest.mark.parametrize(("name", "pyiqa_name", "variant"), [("topiq_nr", "topiq_nr", "nr_koniq"), ("topiq_nr_flive", "topiq_nr-flive", "nr_flive")])  # fmt: skip
@torch.no_grad()
def test_parity_with_pyiqa_from_an_image_file(tmp_path: Path, name: str, pyiqa_name: str, variant: str) -> None:
    # Reference: pyiqa's CFANet with its topiq_nr / topiq_nr-flive settings and the same random state
    # dict; each side reads the same PNG files and runs its own input path (flive: shorter side to 384).
    # topiq_nr stands for topiq_nr_spaq too (the same network and input path, other weights).
    state = release_state("nr_koniq")  # the three NR variants share one layout
    ref = pyiqa_metric(pyiqa_name, state)
    dist, clean = photo_files(tmp_path)
    expected = torch.cat([ref(str(f)).flatten() for f in (dist, clean)])
    m = iqa.create(name, model=net_with(variant, state))
    ours = m(torch.stack([read_image(dist), read_image(clean)]))
    # float32 through ResNet-50 and 10 attention blocks (fused attention here, pyiqa's explicit one):
    # measured 0 to 2e-7 on these scores; 1e-5 leaves room across BLAS builds
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    assert (ours[0] - ours[1]).abs() > 1e-3  # the two images score differently: the comparison can fail


@torch.no_grad()
def test_a_network_of_another_variant_is_refused() -> None:
    state = release_state("nr_koniq")
    with pytest.raises(InputError, match="the given model is TOPIQ nr_koniq, this metric needs nr_spaq"):
        iqa.create("topiq_nr_spaq", model=net_with("nr_koniq", state))
    with pytest.raises(InputError, match="needs a no-reference TOPIQ network"):
        topiq_nr(torch.rand(1, 3, 64, 64), model=net_with("fr_kadid", release_state("fr_kadid")))


def test_cli_scores_with_the_release_in_iqa_weights_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `iqa score D -m topiq_nr` as a user runs it: the file sits in IQA_WEIGHTS_DIR under its released
    # name. A random file cannot carry the upstream sha256 prefix, so the manifest entry is pointed at
    # this file's hash: the store's lookup and verification themselves are unchanged.
    import iqa.weights.store as store

    wdir, state = tmp_path / "weights", release_state("nr_koniq", 1)
    wdir.mkdir()
    real = store.get_weight_spec
    spec = real("cfanet_nr_koniq_res50")
    torch.save({"params": state}, wdir / spec.filename)
    digest = store.sha256_file(wdir / spec.filename)
    monkeypatch.setattr(store, "get_weight_spec", lambda i: dataclasses.replace(spec, sha256_prefix=digest[:8]) if i == spec.id else real(i))  # fmt: skip
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    dist, clean = photo_files(tmp_path / "img", size=(64, 64))
    r = CliRunner().invoke(cli, ["score", str(tmp_path / "img"), "-m", "topiq_nr", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.output.strip().splitlines()))
    assert len(rows) == 2 and not any(row["error"] for row in rows)
    got = {Path(row["file"]).name: float(row["topiq_nr"]) for row in rows}
    with torch.no_grad():
        want = iqa.create("topiq_nr", model=net_with("nr_koniq", state))(
            torch.stack([read_image(dist), read_image(clean)])
        )
    assert got == pytest.approx({"dist.png": want[0].item(), "ref.png": want[1].item()}, abs=1e-4)  # the CSV's digits
