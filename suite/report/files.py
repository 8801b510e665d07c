"""Writing report files: each one atomically (a temporary file in the same folder, renamed
into place), so a full disk or a killed process leaves the previous file or none, never a
truncated one; and a failure is a `ReportWriteError` that names the file and the reason."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path

from suite.errors import BenchError


class ReportWriteError(BenchError):
    """A report file or folder could not be written (read-only place, a file where a folder
    should be, a full disk)."""

    def __init__(self, path: Path, exc: OSError):
        self.path = Path(path)
        self.reason = describe_os_error(exc)
        super().__init__(f"Cannot write the report to {path}: {self.reason}. Choose another place with -o.")


def describe_os_error(exc: OSError) -> str:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"{exc.strerror or exc} (the disk or the quota is full)"
    if exc.errno in (errno.ENOTDIR, errno.EEXIST) and exc.filename:
        return f"{exc.filename} is a file, not a folder"
    if exc.errno == errno.EROFS:
        return "the file system is read-only"
    return str(exc.strerror or exc)


def make_folder(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportWriteError(path, _with_filename(exc, path)) from None
    if not path.is_dir():  # mkdir(exist_ok=True) is silent about some non-folders
        raise ReportWriteError(path, OSError(errno.ENOTDIR, "Not a directory", str(path)))
    if not os.access(path, os.W_OK):  # EACCES, or EROFS even for root
        raise ReportWriteError(path, PermissionError(errno.EACCES, "the folder is not writable", str(path)))


def _with_filename(exc: OSError, path: Path) -> OSError:
    if exc.filename is None:
        exc.filename = str(path)
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):
        # mkdir names the folder it tried to make; the culprit is the file on the way to it.
        for parent in [path, *path.parents]:
            if parent.exists() and not parent.is_dir():
                exc.filename = str(parent)
                break
    return exc


def write_file(path: Path, data: str | bytes) -> None:
    """Write `data` (text as UTF-8) to `path` via a temporary file and a rename."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is for sharing
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        raise ReportWriteError(path, exc) from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
