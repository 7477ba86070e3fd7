"""Imports point down only (DESIGN.md): a module may import its own layer's package and lower layers.

Two more rules: a metric module is a leaf (it imports no other metric module, only ``iqa.metrics.base``
from its own package), and nothing outside a package imports a ``_private`` module of that package.

The check parses every module of the package (imports inside functions included, relative imports
resolved) rather than importing it, so lazy imports cannot hide a violation.
"""

from __future__ import annotations

import ast
from pathlib import Path

import iqa

# Highest first. Names in one row are siblings: they must not import each other.
LAYERS: list[tuple[str, ...]] = [
    ("iqa.__main__",),  # `python -m iqa` / `torchrun -m iqa`: runs the CLI
    ("iqa.cli",),
    ("iqa.pipelines",),  # train -> evaluate -> report chains the CLI calls; they compute nothing themselves
    ("iqa.reports",),
    ("iqa.evaluation", "iqa.training", "iqa.attacks", "iqa.explain"),
    ("iqa.api",),
    ("iqa.functional",),
    ("iqa.metrics", "iqa.datasets"),
    ("iqa.models",),
    ("iqa.features", "iqa.augment"),
    ("iqa.transforms", "iqa.stats"),
    ("iqa.io",),
    ("iqa.weights", "iqa.checks", "iqa.options"),
    ("iqa.registry",),
    ("iqa.errors", "iqa.types", "iqa.atomic"),
]
# What a metric module may import from its own package: the base classes and contracts.
METRIC_SHARED = ("iqa.metrics.base", "iqa.metrics.distribution")
PACKAGE = Path(iqa.__file__).parent


def component(module: str) -> tuple[int, str] | None:
    """(layer index, component name) of a dotted module name, None if it is not in the table."""
    for i, row in enumerate(LAYERS):
        for name in row:
            if module == name or module.startswith(name + "."):
                return i, name
    return None


def imports_of(source: str, module: str, is_package: bool) -> list[tuple[str, int]]:
    """Absolute names of the iqa modules imported by ``source`` with their line numbers."""
    base = module.split(".") if is_package else module.split(".")[:-1]
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parent = base[: len(base) - node.level + 1]
                target = ".".join(parent + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((target, node.lineno))
            out += [(f"{target}.{a.name}", node.lineno) for a in node.names]
    return [(n, line) for n, line in out if n == "iqa" or n.startswith("iqa.")]


def violations(source: str, module: str, is_package: bool = False) -> list[str]:
    here = component(module)
    if here is None:
        return [f"{module} is not in the layer table of tests/test_layers.py; add it"]
    found = []
    for target, line in imports_of(source, module, is_package):
        found += _private_or_metric(module, target, line, is_package)
        there = component(target)
        if there is None or there[1] == here[1]:
            continue  # the facade `iqa`, names that are attributes, or the same component
        if there[0] < here[0]:
            found.append(f"{module}:{line} imports higher layer {target}")
        elif there[0] == here[0]:
            found.append(f"{module}:{line} imports sibling {target}")
    return found


def _private_or_metric(module: str, target: str, line: int, is_package: bool) -> list[str]:
    """The leaf rule for metric modules and the private-module rule."""
    parts = target.split(".")
    private = next((i for i, p in enumerate(parts) if p.startswith("_") and p != "__init__"), None)
    if private is not None:
        owner = ".".join(parts[:private])  # the package holding the private module
        if not (module == owner or module.startswith(owner + ".")):
            return [f"{module}:{line} imports private {target} from outside {owner}"]
    in_metrics = module.startswith("iqa.metrics.") and not is_package
    if in_metrics and target.startswith("iqa.metrics.") and target.count(".") >= 2:
        # Names imported from a module show up as module.name: the module part decides.
        allowed = any(target == m or target.startswith(m + ".") for m in METRIC_SHARED)
        if not allowed and not target.startswith(module + "."):
            return [
                f"{module}:{line} imports metric module {target}: metric files are leaves, move the shared code down"
            ]
    return []


def package_modules() -> list[tuple[str, Path]]:
    mods = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        name = ".".join(parts)
        if name != "iqa":  # the top-level facade re-exports lazily and belongs to no layer
            mods.append((name, path))
    return mods


def test_imports_point_down() -> None:
    problems = []
    for name, path in package_modules():
        problems += violations(path.read_text(), name, path.name == "__init__.py")
    assert not problems, "\n".join(problems)


def test_checker_catches_upward_and_sibling_imports() -> None:
    assert violations("from iqa.cli.main import cli", "iqa.metrics.fr.ssim")
    assert violations("import iqa.api", "iqa.io.images")
    assert violations("from iqa.datasets import x", "iqa.metrics.base")  # siblings
    assert violations("from ...api import core", "iqa.metrics.fr", is_package=True)  # relative: iqa.api
    assert violations("def f():\n    from iqa.api import create\n", "iqa.transforms.color")  # lazy import
    assert not violations("from iqa.transforms.color import rgb_to_y", "iqa.metrics.fr.ssim")
    # metric files are leaves; private modules stay inside their package
    assert violations("from iqa.metrics.fr.gmsd import gray255", "iqa.metrics.fr.vif")
    assert violations("from iqa.metrics.fr._matlab import similarity", "iqa.metrics.fr.fsim")
    assert violations("from iqa.metrics.nr.niqe import x", "iqa.metrics.fr.mad")
    assert not violations("from iqa.metrics.base import FRMetric", "iqa.metrics.fr.ssim")
    assert violations("from iqa.metrics.gen._stats import GaussianStats", "iqa.api.comparison")
    assert violations("from iqa.models._tanet import TANet", "iqa.training.tunet")
    assert not violations("from iqa.augment._core import register", "iqa.augment.blur")
    assert violations("import os", "iqa.newthing") == [
        "iqa.newthing is not in the layer table of tests/test_layers.py; add it"
    ]
