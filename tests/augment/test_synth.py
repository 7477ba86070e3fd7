"""``iqa synth``: a KADID-format synthetic benchmark, resumable, that ``iqa correlate`` reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from iqa.augment.synth import synthesize
from iqa.cli.main import cli
from iqa.datasets import load_kadid10k
from tests.helpers.mos_fixtures import photos


@pytest.fixture
def refs(tmp_path: Path) -> Path:
    d = tmp_path / "refs"
    d.mkdir()
    for i, a in enumerate(photos(3, size=80)):
        Image.fromarray(a).save(d / f"photo{i + 1}.{'png' if i % 2 else 'jpg'}")
    return d


def test_layout_labels_and_resume(refs: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    r = synthesize(refs, out, types=["jpeg", 1], levels=[1, 3, 5], seed=0)
    assert (r.rows, r.written, r.kept, r.failed) == (18, 21, 0, {})
    d = load_kadid10k(out)
    assert len(d) == 18 and set(d.table["distortion"]) == {"jpeg", "gaussian_blur"}
    assert (d.table["mos"] == 6 - d.table["level"]).all()  # the synthetic proxy, level 1 -> 5
    assert "NOT human opinion scores" in (out / "SYNTHETIC.txt").read_text()
    assert (out / "sources.csv").read_text().splitlines()[1] == "I01,photo1.jpg"
    d.check_files()
    before = (out / "images" / "I02_10_05.png").stat().st_mtime_ns
    again = synthesize(refs, out, types=["jpeg", 1], levels=[1, 3, 5], seed=0)
    assert (again.written, again.kept) == (0, 21) and (out / "images" / "I02_10_05.png").stat().st_mtime_ns == before


def test_cli_then_correlate(refs: Path, tmp_path: Path) -> None:
    (refs / "broken.png").write_bytes(b"not an image")
    out, rep = tmp_path / "bench", tmp_path / "report"
    r = CliRunner().invoke(cli, ["synth", str(refs), str(out), "-t", "jpeg,white_noise", "-l", "1,2,3,4,5", "-q"])
    assert r.exit_code == 1 and "failed: broken.png" in r.output  # recorded, the rest written
    assert "30 distorted images" in r.output
    r = CliRunner().invoke(cli, ["correlate", "kadid10k", "--root", str(out), "-m", "psnr", "--report", str(rep),
                                 "--bootstrap", "0", "-q"])  # fmt: skip
    assert r.exit_code == 0, r.output
    per_type = (rep / "per_group_distortion.csv").read_text()
    assert "jpeg" in per_type and "white_noise" in per_type
    r = CliRunner().invoke(cli, ["synth", str(refs), str(out), "-t", "jpg"])
    assert r.exit_code == 2 and "Did you mean 'jpeg'" in r.output
