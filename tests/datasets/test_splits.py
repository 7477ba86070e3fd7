"""Seeded content splits and the split-file schema; the stored split files match the rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from iqa.datasets.splits import read_split_file, seeded_group_split, split_file_text
from iqa.errors import DatasetError, InputError

REPO = Path(__file__).resolve().parents[2]


def test_seeded_split_is_deterministic_and_by_group() -> None:
    groups = [f"I{i:02d}" for i in range(1, 82)] * 3
    a, b = seeded_group_split(groups), seeded_group_split(list(reversed(groups)))
    assert a == b  # input order does not matter
    counts = {s: sum(v == s for v in a.values()) for s in ("train", "val", "test")}
    assert counts == {"train": 49, "val": 16, "test": 16}
    assert seeded_group_split(groups, seed=1) != a
    two = seeded_group_split(groups, (0.8, 0.2))
    assert set(two.values()) == {"train", "test"}
    with pytest.raises(InputError, match="summing to 1"):
        seeded_group_split(groups, (0.5, 0.2))


def test_split_file_round_trip_and_errors(tmp_path: Path) -> None:
    a = seeded_group_split(["x", "y", "z", "w", "v"])
    p = tmp_path / "s.csv"
    p.write_text(split_file_text(a))
    assert read_split_file(p) == a
    p.write_text("key,split\nx,train\nx,test\ny,dev\n")
    with pytest.raises(DatasetError, match="2 problem"):
        read_split_file(p)


@pytest.mark.parametrize(("dataset", "keys"), [("kadid10k", [f"I{i:02d}" for i in range(1, 82)])])
def test_stored_split_files_follow_the_rule(dataset: str, keys: list[str]) -> None:
    stored = REPO / "datasets" / dataset / "splits" / "content_622_seed123.csv"
    assert read_split_file(stored) == seeded_group_split(keys)
