"""Generated docs stay in sync with the code; the README's commands are the ones CI runs."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_metrics_page_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "docs" / "generate_metrics_page.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    assert (ROOT / "docs" / "metrics.md").read_text() == gen.render(), "run python docs/generate_metrics_page.py"
    readme = (ROOT / "README.md").read_text()
    assert readme == gen.render_readme(readme), (
        "the README's metric list is stale: run python docs/generate_metrics_page.py"
    )


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    install, test = 'pip install -e ".[test]"', "pytest"
    blocks = readme.split("```")[1::2]
    assert "iqa demo" in blocks[0] and "pip install ." in blocks[0]  # first: install and run
    assert install in blocks[1] and blocks[1].strip().endswith(test)  # second: install and test
    assert install in ci and "\npytest" in ci and "IQA_REQUIRE_SHARED=1" in ci
    beside = "pip install --no-deps hpsv2==1.2.0"  # a reference whose pins would replace torch: both install it alike
    assert beside in blocks[1] and beside in ci


def test_augment_page_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_aug", ROOT / "docs" / "generate_augment_page.py")
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)  # type: ignore[union-attr]
    assert (ROOT / "docs" / "augment.md").read_text() == gen.render(), "run python docs/generate_augment_page.py"
