"""One writer per results file: an advisory lock held while a run reads and writes it.

`bench run --resume` takes it before it reads the file (suite/run/resume_target.py) and the runner
takes it again around the run: the lock is re-entrant within a process, so the second is free.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import IO

from suite.errors import BenchError

# lock file -> how many times this process holds it (re-entrant: resume, then the runner)
_HELD: dict[str, int] = {}


@contextlib.contextmanager
def results_lock(path: Path) -> Iterator[None]:
    """Hold an advisory lock on `path` while the run writes it. The kernel drops the lock
    when the process ends, however it ends, so a killed run never leaves a stale lock."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    key = os.path.abspath(lock_path)
    if _HELD.get(key):
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BenchError(f"Cannot write in {path.parent}: {exc.strerror or exc}. Choose another folder with -o.") from None
    fh = _acquire(lock_path, path, fcntl)
    _HELD[key] = 1
    try:
        yield
    finally:
        _HELD.pop(key, None)
        # Unlink while still holding the lock: a later run then locks a fresh file.
        with contextlib.suppress(OSError):
            os.unlink(lock_path)
        fh.close()


def _acquire(lock_path: Path, path: Path, fcntl: ModuleType) -> IO[str]:  # fcntl: POSIX only, imported by the caller
    while True:
        try:
            fh = open(lock_path, "a+")  # noqa: SIM115 - held open as long as the lock
        except OSError as exc:
            raise BenchError(f"Cannot write in {path.parent}: {exc.strerror or exc}. Choose another folder with -o.") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise BenchError(f"{path} is being written by another bench run that is still going. Wait for it to "
                             "finish, or stop it (Ctrl-C) and then resume it with: bench run --resume "
                             f"{path}") from None
        # The holder before us unlinks the lock file as it lets go: if we opened that file just
        # before, we hold a lock nobody else can see. Only the file at the path counts.
        try:
            same = os.path.samestat(os.fstat(fh.fileno()), os.stat(lock_path))
        except FileNotFoundError:
            same = False
        if same:
            return fh
        fh.close()
