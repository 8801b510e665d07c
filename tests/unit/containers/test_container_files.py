"""suite.containers.container: what comes back from a container. Its files arrive as a tar stream
(built here with tarfile, holding what a hostile image could put there); only regular files and
folders inside the destination are written. Its log stream arrives in chunks that split lines."""

from __future__ import annotations

import io
import os
import stat
import tarfile

from suite.containers.container import _follow_logs, _LogStream, copy_out


class Container:
    """The one call copy_out makes: get_archive, answering a tar stream in chunks as the SDK does."""

    def __init__(self, tar_bytes: bytes | None):
        self.tar_bytes = tar_bytes
        self.asked: list[str] = []

    def get_archive(self, path):
        from docker.errors import NotFound

        self.asked.append(path)
        if self.tar_bytes is None:
            raise NotFound("no such path")
        data = self.tar_bytes
        return (data[i:i + 100] for i in range(0, len(data), 100)), {}


def _tar(members) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, payload in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(payload))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, payload
                tar.addfile(info)
    return buf.getvalue()


def test_regular_files_are_copied_and_anything_escaping_is_skipped(tmp_path):
    outside = tmp_path / "outside.txt"
    data = _tar([("./", "dir", None), ("./run1", "dir", None), ("./run1/results.json", "file", b'{"a": 1}'),
                 ("./report.html", "file", b"<html>" * 50), ("../outside.txt", "file", b"pwned"),
                 ("/etc/passwd-copy", "file", b"pwned"), ("./link", "symlink", "/etc/passwd"),
                 ("./run1/../../outside.txt", "file", b"pwned")])
    dest = tmp_path / "out"
    container = Container(data)
    written = copy_out(container, "/reports/", dest)
    assert container.asked == ["/reports/."]
    assert written == sorted([dest.resolve() / "report.html", dest.resolve() / "run1" / "results.json"])
    assert (dest / "run1" / "results.json").read_bytes() == b'{"a": 1}'
    assert (dest / "report.html").read_bytes() == b"<html>" * 50
    assert stat.S_IMODE(os.stat(dest / "report.html").st_mode) == 0o644
    assert not outside.exists() and not (dest / "link").exists() and not (dest / "etc").exists()


def test_a_path_the_container_does_not_have_copies_nothing(tmp_path):
    assert copy_out(Container(None), "/reports", tmp_path / "out") == [] and (tmp_path / "out").is_dir()


def test_log_lines_split_across_chunks_are_joined():
    lines: list[str] = []
    _follow_logs(iter([b"first li", b"ne\r\nsecond\nthi", b"rd \xff", b"\nunfinished"]), lines.append)
    assert lines == ["first line", "second", "third \ufffd", "unfinished"]


def test_a_log_stream_that_breaks_says_so_and_costs_nothing_else():
    class Api:
        def logs(self, *a, **kw):
            yield b"started\n"
            raise ConnectionError("engine restarted")

    class Client:
        api = Api()

    lines: list[str] = []
    stream = _LogStream(Client(), "0123456789abcdef", lines.append)
    stream.finish(timeout_s=5)
    assert lines[0] == "started"
    assert lines[1].startswith("(the log stream broke: ") and lines[1].endswith("its last lines may be missing)")
