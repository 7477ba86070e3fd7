"""`iqa score D --ref R -m topiq_fr -m pieapp` end to end, the releases put in IQA_WEIGHTS_DIR (issue 21).

The released files are not offline: each is written under its released file name, in its released
layout (``cfanet_fr_kadid_res50-2c4cc61d.pth``: ``{"params": state}``; ``PieAPPv0.1-0937b014.pth``: a
plain state dict of ~250 MB), with seeded random values. A random file cannot carry the upstream
sha256 prefix its name promises, so each manifest entry is pointed at its file's own hash: the
store's lookup in IQA_WEIGHTS_DIR and its verification run unchanged, as for a user with the real files.
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
from iqa.io.images import read_image
from tests.metrics.fr.test_pieapp import net_with as pieapp_net
from tests.metrics.fr.test_pieapp import photo_files
from tests.metrics.fr.test_pieapp import release_state as pieapp_state
from tests.models.test_topiq import net_with as topiq_net
from tests.models.test_topiq import release_state as topiq_state


def _install(wdir: Path, weight_id: str, payload: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Save ``payload`` under the entry's released file name and make the entry expect that file's hash."""
    import iqa.weights.store as store

    spec = store.get_weight_spec(weight_id)
    torch.save(payload, wdir / spec.filename)
    digest = store.sha256_file(wdir / spec.filename)
    real = store.get_weight_spec
    monkeypatch.setattr(store, "get_weight_spec", lambda i: dataclasses.replace(spec, sha256_prefix=digest[:8]) if i == weight_id else real(i))  # fmt: skip


def test_score_a_folder_against_its_references_with_topiq_fr_and_pieapp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wdir = tmp_path / "weights"
    wdir.mkdir()
    t_state, p_state = topiq_state("fr_kadid", 1), pieapp_state()
    _install(wdir, "cfanet_fr_kadid_res50", {"params": t_state}, monkeypatch)
    _install(wdir, "pieapp", p_state, monkeypatch)
    monkeypatch.setenv("IQA_WEIGHTS_DIR", str(wdir))
    d, r_dir = tmp_path / "D", tmp_path / "R"
    d.mkdir(), r_dir.mkdir()
    for i, size in enumerate(((64, 64), (70, 100))):  # PieAPP needs 64 px: one patch, then 1 x 2 patches
        dist, clean = photo_files(tmp_path / f"src{i}", size=size)
        dist.rename(d / f"im{i}.png"), clean.rename(r_dir / f"im{i}.png")
    r = CliRunner().invoke(cli, ["score", str(d), "--ref", str(r_dir), "-m", "topiq_fr", "-m", "pieapp", "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(r.output.strip().splitlines()))
    assert sorted(Path(row["file"]).name for row in rows) == ["im0.png", "im1.png"]
    assert not any(row["error"] for row in rows), rows
    # the same networks built here from the same state dicts score the same files
    metrics = {"topiq_fr": iqa.create("topiq_fr", model=topiq_net("fr_kadid", t_state)),
               "pieapp": iqa.create("pieapp", model=pieapp_net(p_state))}  # fmt: skip
    for row in rows:
        name = Path(row["file"]).name
        x, y = read_image(d / name)[None], read_image(r_dir / name)[None]
        for metric, m in metrics.items():
            with torch.no_grad():
                want = m(x, y).item()
            assert float(row[metric]) == pytest.approx(want, abs=1e-4), (name, metric)  # the CSV's printed digits
