"""One writer per output file: an advisory lock held while a run writes the file and its journal.

``iqa score -o out.csv`` (:class:`iqa.api.results.ResultStore`) and ``iqa merge`` hold
``out.csv.lock`` while they write. A second writer of the same output fails at once with
:class:`OutputLockedError`, naming the file and the holder (pid, host, start time, command) that
the lock file records, instead of both runs finishing and one silently losing the other's rows.

- POSIX: ``flock(2)`` on the lock file. The kernel drops the lock when its process exits or is
  killed, so a ``kill -9`` never leaves a lock that blocks the next run; the file a killed run
  leaves behind is taken over with a note naming it. ``flock`` locks belong to an open file, so
  two holders in one process exclude each other too. A normal release unlinks the file while still
  holding it; an acquirer checks that the file it locked is still the one at the path (else it
  retries), so unlinking never lets two writers in.
- Elsewhere (no ``fcntl``): the lock is the file itself, created with ``O_EXCL``. A lock left by a
  process of this host that no longer runs is taken over with a note; one from another host (or
  whose process cannot be checked) is reported, and removing the file is the user's call. Two
  runs taking over the same stale lock at the same instant can both get in: the fallback is
  best effort.
- Where no lock can be taken (a filesystem that refuses locks with ``ENOLCK``, some network or
  FUSE mounts; a folder where the lock file cannot be created) a warning says so and the run goes
  on unlocked, as it did before locks existed.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType, TracebackType

from iqa.errors import IQAError

fcntl: ModuleType | None
try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

_BUSY = {errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK}


class OutputLockedError(IQAError, OSError):
    """Another run holds the lock of an output file; the message names the file and the holder."""


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as recorded in the lock file."""

    pid: int
    host: str
    started: str  # UTC, ISO 8601
    command: str

    def describe(self) -> str:
        cmd = f": {self.command}" if self.command else ""
        return f"pid {self.pid} on {self.host}, started {self.started}{cmd}"


def lock_path(target: str | os.PathLike[str]) -> Path:
    """The lock file of ``target``: ``<target>.lock`` next to it."""
    target = Path(target)
    return target.with_name(target.name + ".lock")


def _me() -> Holder:
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    return Holder(os.getpid(), socket.gethostname(), started, " ".join(sys.argv)[:200])


def _parse(raw: bytes) -> Holder | None:
    try:
        d = json.loads(raw.decode("utf-8"))
        return Holder(int(d["pid"]), str(d["host"]), str(d["started"]), str(d.get("command", "")))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None  # empty (a holder between creating and writing it) or foreign


def _read_fd(fd: int) -> Holder | None:
    return _parse(os.pread(fd, 4096, 0)) if hasattr(os, "pread") else None


def _read_path(path: Path) -> Holder | None:
    try:
        return _parse(path.read_bytes()[:4096])
    except OSError:
        return None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host runs; True when it cannot be told (the safe answer)."""
    if os.name == "posix":
        try:
            os.kill(pid, 0)  # signal 0: existence check only
        except ProcessLookupError:
            return False
        except PermissionError:
            return True  # exists, owned by another user
        return True
    try:  # os.kill on Windows would terminate the process: ask psutil where it is installed
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return True
    return bool(psutil.pid_exists(pid))


def held_by(target: str | os.PathLike[str]) -> Holder | None:
    """The run holding ``target``'s lock now, or None (a pre-flight check; it takes nothing).

    A free lock reads as None; so does a held one whose holder has not yet written its record.
    """
    path = lock_path(target)
    if fcntl is None:
        holder = _read_path(path)
        if holder is None or (holder.host == socket.gethostname() and not pid_alive(holder.pid)):
            return None
        return holder
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # granted only when no one holds it exclusively
    except OSError as e:
        return _read_fd(fd) if e.errno in _BUSY else None
    else:
        return None
    finally:
        os.close(fd)  # closing drops the shared lock if it was granted


class FileLock:
    """Exclusive lock on ``target`` (see the module docstring); a context manager.

    Args:
        target: the file to protect; the lock is ``<target>.lock``.

    Attributes:
        taken_over: the holder of a stale lock this one replaced (a killed run), else None.
        locked: whether the lock is held (False also when the filesystem refused locking).
    """

    def __init__(self, target: str | os.PathLike[str]):
        self.target = Path(target)
        self.path = lock_path(self.target)
        self.taken_over: Holder | None = None
        self.locked = False
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> FileLock:
        """Take the lock or raise :class:`OutputLockedError` at once (never waits)."""
        if self.locked:
            return self
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = self._acquire_flock(fcntl) if fcntl is not None else self._acquire_exclusive()
        except OutputLockedError:
            raise
        except OSError as e:  # a read-only folder, a filesystem without locks (ENOLCK)
            self._unlockable(e)
            return self
        me = _me()
        data = json.dumps({"pid": me.pid, "host": me.host, "started": me.started, "command": me.command})
        os.ftruncate(fd, 0)
        os.write(fd, data.encode("utf-8"))
        self._fd, self._pid, self.locked = fd, os.getpid(), True
        if self.taken_over is not None:
            warnings.warn(
                f"{self.target}: took over the lock left by a run that is no longer running "
                f"({self.taken_over.describe()}); its journal, if any, is resumable",
                stacklevel=3,
            )
        return self

    def _acquire_flock(self, flock_module: ModuleType) -> int:
        for _ in range(50):  # each retry means a holder released (and unlinked) in between
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                flock_module.flock(fd, flock_module.LOCK_EX | flock_module.LOCK_NB)
            except OSError as e:
                if e.errno in _BUSY:
                    holder = self._wait_for_holder(fd)
                    os.close(fd)
                    raise self._locked_error(holder) from None
                os.close(fd)
                raise
            try:
                current = os.stat(self.path)
                fst = os.fstat(fd)
                same = (current.st_ino, current.st_dev) == (fst.st_ino, fst.st_dev)
            except FileNotFoundError:
                same = False
            if same:
                self.taken_over = _read_fd(fd)  # content left by a killed holder (a clean release unlinks)
                return fd
            os.close(fd)  # the holder released and unlinked it after we opened it: start again
        raise OutputLockedError(f"{self.target}: could not take the lock {self.path.name} (it keeps changing)")

    def _acquire_exclusive(self) -> int:
        for _ in range(3):
            try:
                return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            except FileExistsError:
                holder = _read_path(self.path)
                if holder is None or holder.host != socket.gethostname() or pid_alive(holder.pid):
                    raise self._locked_error(holder) from None
                self.taken_over = holder
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
        raise OutputLockedError(f"{self.target}: could not take the lock {self.path.name}")

    def _wait_for_holder(self, fd: int) -> Holder | None:
        """The holder's record; a holder that has just taken the lock writes it within moments."""
        for _ in range(20):
            holder = _read_fd(fd)
            if holder is not None:
                return holder
            time.sleep(0.01)
        return None

    def _unlockable(self, e: OSError) -> None:
        warnings.warn(
            f"{self.target}: no lock could be taken ({self.path.name}: {e.strerror or e}); writing without "
            "one, so make sure no other run writes the same output",
            stacklevel=3,
        )

    def _locked_error(self, holder: Holder | None) -> OutputLockedError:
        who = holder.describe() if holder is not None else "holder not recorded"
        hint = "wait for it to finish or write to another output"
        if fcntl is None:
            hint += f"; if that run is dead, delete {self.path}"
        return OutputLockedError(f"{self.target} is being written by another run ({who}); {hint}")

    def release(self) -> None:
        """Drop the lock and remove the lock file (idempotent; a forked child never removes it)."""
        fd, self._fd, self.locked = self._fd, None, False
        if fd is None or os.getpid() != self._pid:
            return
        try:
            if fcntl is not None:
                # Unlink while still holding: an acquirer that opened this file sees it is gone.
                with contextlib.suppress(FileNotFoundError):
                    st, fst = os.stat(self.path), os.fstat(fd)
                    if (st.st_ino, st.st_dev) == (fst.st_ino, fst.st_dev):
                        os.unlink(self.path)
                os.close(fd)
            else:
                os.close(fd)  # Windows cannot unlink an open file
                holder = _read_path(self.path)
                if holder is not None and holder.pid == os.getpid() and holder.host == socket.gethostname():
                    os.unlink(self.path)
        except OSError:
            pass  # a lock file that cannot be removed is taken over by the next run

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.release()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.release()
