"""suite.report.files: every report file written atomically, with one error that names the file
and the reason. Real folders and files: a file where a folder should be, an existing file
replaced whole, a write that fails leaving nothing behind."""

from __future__ import annotations

import errno
import os
import stat

import pytest

from suite.report.files import (
    ReportWriteError,
    describe_os_error,
    make_folder,
    write_file,
)


def test_text_is_written_as_utf8_readable_by_all_and_replaces_the_old_file_whole(tmp_path):
    target = tmp_path / "report.md"
    target.write_text("old and much longer content " * 100)
    old = os.umask(0o077)
    try:
        write_file(target, "π ≈ 3.14\n")
    finally:
        os.umask(old)
    assert target.read_bytes() == "π ≈ 3.14\n".encode("utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    write_file(target, b"\x89PNG")
    assert target.read_bytes() == b"\x89PNG" and [p.name for p in tmp_path.iterdir()] == ["report.md"]


def test_a_failed_write_names_the_file_and_leaves_no_temporary(tmp_path):
    missing = tmp_path / "gone" / "report.html"
    with pytest.raises(ReportWriteError) as err:
        write_file(missing, "x")
    assert err.value.path == missing and str(missing) in str(err.value) and "Choose another place with -o" in str(
        err.value)
    folder = tmp_path / "is-a-folder"
    folder.mkdir()
    with pytest.raises(ReportWriteError):
        write_file(folder, "x")  # the rename onto a folder fails
    assert sorted(p.name for p in tmp_path.iterdir()) == ["is-a-folder"] and not any(folder.iterdir())


def test_a_file_where_a_folder_should_be_is_named_as_the_culprit(tmp_path):
    blocker = tmp_path / "reports"
    blocker.write_text("")
    with pytest.raises(ReportWriteError) as err:
        make_folder(blocker / "run1" / "figures")
    assert err.value.reason == f"{blocker} is a file, not a folder"
    with pytest.raises(ReportWriteError, match="is a file, not a folder"):
        make_folder(blocker)
    make_folder(tmp_path / "a" / "b")
    assert (tmp_path / "a" / "b").is_dir()


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "the disk or the quota is full"),
                                         (errno.EDQUOT, "the disk or the quota is full"),
                                         (errno.EROFS, "the file system is read-only")])
def test_the_reasons_a_user_can_act_on_are_worded(code, words):
    assert words in describe_os_error(OSError(code, os.strerror(code)))
    assert describe_os_error(OSError(errno.EACCES, "Permission denied")) == "Permission denied"
