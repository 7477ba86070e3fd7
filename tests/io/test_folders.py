"""Folder listing order and distorted/reference pairing."""

from __future__ import annotations

from pathlib import Path

import pytest

from iqa.errors import InputError, PairingError
from iqa.io.folders import list_images, pair_files


def touch(root: Path, *names: str) -> None:
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        (root / n).write_bytes(b"")


def test_natural_order_and_filters(tmp_path: Path) -> None:
    touch(tmp_path, "img10.png", "img2.PNG", "img1.jpg", ".hidden.png", "notes.txt", "sub/img3.png")
    assert list_images(tmp_path) == ["img1.jpg", "img2.PNG", "img10.png"]
    assert list_images(tmp_path, recursive=True) == ["img1.jpg", "img2.PNG", "img10.png", "sub/img3.png"]


def test_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        list_images(tmp_path / "missing")


def test_pair_by_stem_across_extensions() -> None:
    pairs = pair_files(["a.png", "b.png", "sub/c.png"], ["a.jpg", "b.bmp", "sub/c.png"])
    assert [(p.file, p.ref, p.error) for p in pairs] == [
        ("a.png", "a.jpg", ""),
        ("b.png", "b.bmp", ""),
        ("sub/c.png", "sub/c.png", ""),
    ]


def test_pair_kadid_pattern() -> None:
    pairs = pair_files(
        ["I01_03_4.png", "I02_25_1.png", "x.png"], ["I01.png", "I02.png"], ref_pattern=r"(?P<ref>I\d+)_\d+_\d+"
    )
    assert [p.ref for p in pairs] == ["I01.png", "I02.png", None]
    assert "does not match" in pairs[2].error


def test_missing_reference_is_per_file() -> None:
    (p,) = pair_files(["z.png"], ["a.png"])
    assert p.ref is None and "no reference file named z" in p.error


def test_ambiguous_reference_raises() -> None:
    with pytest.raises(PairingError, match="ambiguous"):
        pair_files(["a.png"], ["a.png", "a.jpg"])


def test_bad_pattern() -> None:
    with pytest.raises(InputError, match="regular expression"):
        pair_files(["a.png"], ["a.png"], ref_pattern="(")
    with pytest.raises(InputError, match="needs a group"):
        pair_files(["a.png"], ["a.png"], ref_pattern="a")
