"""The one checkpoint/resume rule: atomic files, explicit resume, settings that must match."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch

from iqa.errors import InputError
from iqa.io.checkpoints import (
    check_settings,
    existing,
    load_array_checkpoint,
    load_checkpoint,
    save_array_checkpoint,
    save_checkpoint,
)

KEY = {"lr": 0.1, "steps": 10, "crops": (1, 2)}


def test_torch_checkpoint_round_trip_and_resume_rules(tmp_path: Path) -> None:
    path = tmp_path / "run" / "checkpoint.pt"
    assert load_checkpoint(path, KEY, resume=False) is None  # nothing to resume: a fresh start
    save_checkpoint(path, KEY, {"step": 3, "model": {"w": torch.arange(4.0)}, "history": [{"loss": 1.5}]})
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.pt"]  # no temporary left behind
    mode = stat.S_IMODE(path.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # the usual permissions, not mkstemp's 0600
    with pytest.raises(InputError, match="--resume"):
        load_checkpoint(path, KEY, resume=False)  # an earlier run is never overwritten silently
    state = load_checkpoint(path, {"lr": 0.1, "steps": 10, "crops": [1, 2]}, resume=True)  # tuples == lists
    assert state is not None and state["step"] == 3 and torch.equal(state["model"]["w"], torch.arange(4.0))
    assert "key" not in state
    with pytest.raises(InputError, match=r"other settings \(lr, seed\)"):
        load_checkpoint(path, {**KEY, "lr": 0.2, "seed": 1}, resume=True)
    with pytest.raises(InputError, match="own 'key'"):
        save_checkpoint(path, KEY, {"key": 1})


def test_unreadable_or_foreign_files_are_named(tmp_path: Path) -> None:
    torn = tmp_path / "torn.pt"
    torn.write_bytes(b"PK\x03\x04 cut")
    with pytest.raises(InputError, match="torn.pt: not a readable checkpoint"):
        load_checkpoint(torn, KEY, resume=True)
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": {}}, foreign)
    with pytest.raises(InputError, match="not an iqa checkpoint"):
        load_checkpoint(foreign, KEY, resume=True)


def test_array_checkpoint_is_pickle_free(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.npz"
    w = torch.linspace(0, 1, 5, dtype=torch.float64)
    save_array_checkpoint(path, KEY, {"w": w, "m": np.ones((2, 2))}, {"iteration": 7, "history": [{"fd": 1.0}]})
    with np.load(path, allow_pickle=False) as z:  # readable without pickle
        assert sorted(z.files) == ["__meta__", "m", "w"]
    arrays, meta = load_array_checkpoint(path, KEY)
    assert torch.equal(arrays["w"], w) and arrays["m"].shape == (2, 2) and meta["iteration"] == 7
    with pytest.raises(InputError, match=r"other settings \(steps\)"):
        load_array_checkpoint(path, {**KEY, "steps": 11})
    with pytest.raises(InputError, match="reserved"):
        save_array_checkpoint(path, KEY, {"__meta__": np.zeros(1)}, {})


def test_existing_and_check_settings(tmp_path: Path) -> None:
    assert existing(tmp_path / "none", resume=False) is False
    (tmp_path / "ck").write_bytes(b"x")
    assert existing(tmp_path / "ck", resume=True) is True
    check_settings("p", {"a": (1, 2)}, {"a": [1, 2]})  # same after a JSON round trip: accepted
    with pytest.raises(InputError, match=r"p was written with other settings \(b\)"):
        check_settings("p", {"a": 1}, {"a": 1, "b": 2})


def test_writing_never_touches_the_process_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading the umask by setting it (os.umask(0) then back) let another thread create files 0666
    in between; the atomic writer creates its temporary file with 0666 and lets the kernel apply it."""

    def forbidden(mask: int) -> int:
        raise AssertionError("os.umask called while writing")

    monkeypatch.setattr(os, "umask", forbidden)
    path = save_checkpoint(tmp_path / "c.pt", KEY, {"step": 1})
    monkeypatch.undo()
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
