"""The output lock (iqa.io.locks): held across processes, dropped by a kill, named when refused."""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import subprocess
import sys
import types
from pathlib import Path

import pytest

from iqa.io import locks
from iqa.io.locks import FileLock, OutputLockedError, held_by, lock_path

HOLD = "import sys; from iqa.io.locks import FileLock; lock = FileLock(sys.argv[1]).acquire(); print('held', flush=True); sys.stdin.read()"


def _holder_process(target: Path) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(target)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert p.stdout is not None and p.stdout.readline() == "held\n"
    return p


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


@pytest.mark.skipif(locks.fcntl is None, reason="flock: POSIX")
def test_a_lock_of_another_process_is_named_and_dies_with_it(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    other = _holder_process(target)
    try:
        holder = held_by(target)
        assert holder is not None and holder.pid == other.pid and holder.host == socket.gethostname()
        with pytest.raises(OutputLockedError, match=rf"out\.csv is being written by another run \(pid {other.pid} on "):
            FileLock(target).acquire()
    finally:
        os.kill(other.pid, signal.SIGKILL)  # no clean-up runs: the lock file stays, the kernel drops the lock
        other.wait()
    assert lock_path(target).exists() and held_by(target) is None
    with pytest.warns(UserWarning, match=rf"took over the lock left by .*\(pid {other.pid} on "):
        lock = FileLock(target).acquire()
    assert json.loads(lock_path(target).read_text())["pid"] == os.getpid()
    lock.release()
    assert not lock_path(target).exists()


def test_holders_in_one_process_exclude_each_other_and_release_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "out.csv"
    with FileLock(target) as first:
        assert first.locked and first.taken_over is None
        with pytest.raises(OutputLockedError, match="started"):
            FileLock(target).acquire()
    assert not lock_path(target).exists() and held_by(target) is None
    FileLock(target).acquire().release()  # free again


@pytest.mark.skipif(locks.fcntl is None, reason="flock: POSIX")
def test_an_acquirer_of_a_just_released_file_retries_on_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out.csv"
    first = FileLock(target).acquire()
    stale_fd = os.open(lock_path(target), os.O_RDWR)  # a second run opened the file...
    first.release()  # ...then the first released and unlinked it
    real_open, calls = os.open, []

    def open_stale_first(path, flags, mode=0o777):  # noqa: ANN001, ANN202
        calls.append(path)
        return stale_fd if len(calls) == 1 else real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", open_stale_first)
    second = FileLock(target).acquire()  # flock on the unlinked file succeeds; the path check sends it round again
    monkeypatch.undo()
    assert len(calls) == 2  # the unlinked file was given up (and closed) for the one at the path
    with pytest.raises(OutputLockedError):
        FileLock(target).acquire()  # the lock at the path is really held
    second.release()


def test_without_fcntl_the_lock_file_itself_is_the_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locks, "fcntl", None)  # what Windows gets
    target = tmp_path / "out.csv"
    with FileLock(target):
        with pytest.raises(OutputLockedError, match=rf"pid {os.getpid()} on .*if that run is dead, delete"):
            FileLock(target).acquire()
        assert held_by(target) is not None
    assert not lock_path(target).exists()
    dead = _dead_pid()
    stale = {"pid": dead, "host": socket.gethostname(), "started": "2026-01-01 00:00:00 UTC", "command": "iqa score"}
    lock_path(target).write_text(json.dumps(stale))  # left by a run of this host that was killed
    assert held_by(target) is None
    with pytest.warns(UserWarning, match=rf"took over the lock left by .*pid {dead} "):
        FileLock(target).acquire().release()
    lock_path(target).write_text(json.dumps({**stale, "host": "another-host.example"}))
    with pytest.raises(OutputLockedError, match="another-host.example"):
        FileLock(target).acquire()  # its process cannot be checked from here: never taken over


def test_a_filesystem_that_refuses_locks_warns_and_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    fake = types.SimpleNamespace(flock=refuse, LOCK_EX=2, LOCK_NB=4, LOCK_SH=1)
    monkeypatch.setattr(locks, "fcntl", fake)
    with pytest.warns(UserWarning, match="no lock could be taken.*No locks available"):
        lock = FileLock(tmp_path / "out.csv").acquire()
    assert not lock.locked
    lock.release()
