"""Reading a file that is data (a results file, the ceilings cache, a cache entry's record):
regular files only, and never more than a cap.

A named pipe (FIFO) given as a results file blocks its reader forever, and `/dev/zero` (or a
symlink to it) never ends: reading either whole hung `bench report`, `compare`, `peak` and
`--resume`. Here the path is looked at before it is opened (a FIFO is not opened at all),
checked again on the open descriptor (the path may have been swapped in between), and read up
to the cap. A leaf module: it imports nothing of the suite.
"""

from __future__ import annotations

import errno
import os
import stat

MiB = 1024 * 1024

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _not_regular(mode: int, path: str | os.PathLike[str]) -> OSError:
    if stat.S_ISDIR(mode):
        return IsADirectoryError(errno.EISDIR, "is a folder", str(path))
    kind = next((name for test, name in _KINDS if test(mode)), "not a plain file")
    return OSError(errno.EINVAL, f"{kind}, not a regular file: only regular files are read", str(path))


def _too_big(size: int, max_bytes: int, path: str | os.PathLike[str]) -> OSError:
    shown = f"{size / MiB:,.0f} MiB" if size >= MiB else f"{size:,} bytes"
    return OSError(errno.EFBIG, f"{shown}, larger than the {max_bytes / MiB:g} MiB read at most for such a file",
                   str(path))


def read_regular_bytes(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of the regular file at `path` (symlinks followed), at most `max_bytes`.

    Raises OSError with a `strerror` that says what is wrong, for the caller's message:
    FileNotFoundError, IsADirectoryError, EINVAL for a FIFO, device or socket, EFBIG for a file
    (or one that grows while read) beyond the cap, or what the system said."""
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise _not_regular(st.st_mode, path)
    if st.st_size > max_bytes:
        raise _too_big(st.st_size, max_bytes, path)
    # O_NONBLOCK: had the path become a FIFO since the stat, the open must not wait for a writer
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(st.st_mode, path)
        chunks: list[bytes] = []
        got = 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - got))
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
            if got > max_bytes:
                raise _too_big(got, max_bytes, path)
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_regular_text(path: str | os.PathLike[str], max_bytes: int) -> str:
    """`read_regular_bytes` decoded as UTF-8 (UnicodeDecodeError when it is not)."""
    return read_regular_bytes(path, max_bytes).decode("utf-8")
