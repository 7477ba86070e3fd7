"""A corrupt checkpoint is a WeightsError naming the file, for every loader reading through load_torch_state."""

from __future__ import annotations

from pathlib import Path

import pytest

import iqa
from iqa.errors import WeightsError


@pytest.mark.parametrize("name", ["pieapp", "dbcnn", "topiq_nr"])
def test_corrupt_weights_file_names_the_file(name: str, tmp_path: Path) -> None:
    bad = tmp_path / "w.pth"
    bad.write_bytes(b"garbage, not a checkpoint")
    with pytest.raises(WeightsError, match=r"w\.pth: not a readable PyTorch checkpoint"):
        iqa.create(name, weights=bad)
