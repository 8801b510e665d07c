"""One writer per results file: an advisory lock held while a run writes it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from suite.errors import BenchError


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "a+")
    except OSError as exc:
        raise BenchError(f"Cannot write in {path.parent}: {exc.strerror or exc}. Choose another folder with -o.") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BenchError(f"{path} is being written by another bench run that is still going. Wait for it to "
                             "finish, or stop it (Ctrl-C) and then resume it with: bench run --resume "
                             f"{path}") from None
        try:
            yield
        finally:
            # Unlink while still holding the lock: a later run then locks a fresh file.
            with contextlib.suppress(OSError):
                os.unlink(lock_path)
    finally:
        fh.close()
