"""TOPIQ-FR: parity with pyiqa end to end from image files, and `iqa score D --ref R -m topiq_fr`.

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
from tests.models.test_topiq import net_with, photo_files, pyiqa_metric, release_state


@torch.no_grad()
def test_parity_with_pyiqa_from_image_files(tmp_path: Path) -> None:
    # Reference: pyiqa's CFANet with its topiq_fr settings and the same random state dict; each side
    # reads the same PNG files (a JPEG-degraded crop and its reference). topiq_fr stands for
    # topiq_fr_pipal too (the same network and input path, other weights).
    state = release_state("fr_kadid")
    ref = pyiqa_metric("topiq_fr", state)
    dist, clean = photo_files(tmp_path)
    expected = torch.cat([ref(str(dist), str(clean)).flatten(), ref(str(clean), str(dist)).flatten()])
    m = iqa.create("topiq_fr", model=net_with("fr_kadid", state))
    x, y = read_image(dist)[None], read_image(clean)[None]
    ours = m(torch.cat([x, y]), torch.cat([y, x]))
    # float32 through ResNet-50 (here one pass over image and reference stacked) and 10 attention blocks:
    # measured <= 2e-7 on these scores; 1e-5 leaves room across BLAS builds
    torch.testing.assert_close(ours, expected, atol=1e-5, rtol=0)
    assert (ours[0] - ours[1]).abs() > 1e-3  # swapping image and reference changes the score: the comparison can fail
    torch.testing.assert_close(m(x, y), ours[:1], atol=1e-5, rtol=0)  # a score never depends on the batch


def test_a_network_of_another_variant_is_refused() -> None:
    with pytest.raises(InputError, match="the given model is TOPIQ fr_kadid, this metric needs fr_pipal"):
        iqa.create("topiq_fr_pipal", model=net_with("fr_kadid", release_state("fr_kadid")))


def test_cli_scores_a_folder_against_its_references(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # `iqa score D --ref R -m topiq_fr` as a user runs it, the release in IQA_WEIGHTS_DIR under its name.
    # A random file cannot carry the upstream sha256 prefix, so the manifest entry is pointed at this
    # file's hash: the store's lookup and verification themselves are unchanged.
    import iqa.weights.store as store

    wdir, state = tmp_path / "weights", release_state("fr_kadid", 1)
    wdir.mkdir()
    real = store.get_weight_spec
    spec = real("cfanet_fr_kadid_res50")
    torch.save({"params": state}, wdir / spec.filename)
    digest = store.sha256_file(wdir / spec.filename)
    monkeypatch.setattr(store, "get_weight_spec", lambda i: dataclasses.replace(spec, sha256_prefix=digest[:8]) if i == spec.id else real(i))  # fmt: skip
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    d, r_dir = tmp_path / "D", tmp_path / "R"
    d.mkdir(), r_dir.mkdir()
    for i, offset in enumerate((0, 40)):
        dist, clean = photo_files(tmp_path / f"src{i}", size=(64, 64 + offset))
        dist.rename(d / f"im{i}.png"), clean.rename(r_dir / f"im{i}.png")
    r = CliRunner().invoke(cli, ["score", str(d), "--ref", str(r_dir), "-m", "topiq_fr", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.output.strip().splitlines()))
    assert len(rows) == 2 and not any(row["error"] for row in rows)
    m = iqa.create("topiq_fr", model=net_with("fr_kadid", state))
    for row in rows:
        name = Path(row["file"]).name
        with torch.no_grad():
            want = m(read_image(d / name)[None], read_image(r_dir / name)[None]).item()
        assert float(row["topiq_fr"]) == pytest.approx(want, abs=1e-4), name  # the CSV's printed digits
