"""What a newcomer reads first: the README's two commands, `iqa synth`'s summary, the --ref-pattern example."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
from click.testing import CliRunner
from PIL import Image

from iqa.cli.main import cli

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()
BLOCKS = README.split("```")[1::2]


def test_readme_commands_use_their_own_environments() -> None:
    venvs = [re.search(r"python3 -m venv (\S+) && \. (\S+)/bin/activate", b) for b in BLOCKS[:2]]
    assert all(venvs), BLOCKS[:2]
    (try_env, try_act), (test_env, test_act) = (m.groups() for m in venvs if m)
    assert try_env == try_act and test_env == test_act and try_env != test_env


def test_readme_says_what_the_test_command_costs_and_needs() -> None:
    intro = README[: README.index("## In an evaluation loop")]
    about_test = intro[intro.index("**Test it**") :]
    assert re.search(r"\d+ GB", about_test) and re.search(r"\d+ minutes", about_test)
    assert "../shared" in about_test and "skip" in about_test and "IQA_REQUIRE_SHARED=1" in about_test


def _photos(folder: Path, names: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for n in names:
        Image.fromarray((rng.random((40, 48, 3)) * 255).astype(np.uint8)).save(folder / n)


def test_synth_summary_says_what_happened(tmp_path: Path) -> None:
    _photos(tmp_path / "src", ["a.png", "b.png"])
    args = ["synth", str(tmp_path / "src"), str(tmp_path / "out"), "-t", "jpeg", "-l", "1,2", "-q"]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    # 2 references x (1 type x 2 levels) = 4 listed; on disk also the 2 reference copies: 6 written.
    assert "lists 4 distorted images (2 references x 2 distortion type/level pairs" in r.output
    assert "4 distorted images and 2 reference copies; 6 new files written." in r.output
    r = CliRunner().invoke(cli, args)
    assert "no new file written, 6 already there and kept" in r.output


def test_readme_ref_pattern_example_scores_without_failures(tmp_path: Path) -> None:
    line = next(ln for b in BLOCKS for ln in b.splitlines() if "--ref-pattern" in ln)
    words = shlex.split(line, comments=True)
    pattern = words[words.index("--ref-pattern") + 1]
    dist, ref = tmp_path / "DIST", tmp_path / "REF"
    _photos(dist, ["I01_03_04.png", "I01_05_01.png", "I02_03_04.png"])
    _photos(ref, ["I01.png", "I02.png"])
    out = tmp_path / "kadid.csv"
    r = CliRunner().invoke(
        cli, ["score", str(dist), "--ref", str(ref), "-m", "psnr", "--ref-pattern", pattern, "-o", str(out), "-q"]
    )
    assert r.exit_code == 0, r.output
    rows = out.read_text().splitlines()
    assert len(rows) == 4 and all(row.endswith(",") for row in rows[1:])  # header + 3 rows, empty error column


def test_readme_warning_about_references_in_the_scored_folder_holds(tmp_path: Path) -> None:
    # The README says a reference left in DIST/ is reported as a failure; if pairing learns to skip
    # references, this fails: update the README's sentence with it.
    assert "reported as a failure" in README
    folder = tmp_path / "images"
    _photos(folder, ["I01.png", "I01_03_04.png"])
    r = CliRunner().invoke(cli, ["score", str(folder), "--ref", str(folder), "-m", "psnr", "--ref-pattern",
                                 r"(?P<ref>I\d+)_\d+_\d+", "-o", str(tmp_path / "o.csv"), "-q"])  # fmt: skip
    assert r.exit_code == 1 and "does not match ref_pattern" in (tmp_path / "o.csv").read_text()
