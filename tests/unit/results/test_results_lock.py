"""suite.results.lock: one writer per results file. Another process (a real one, holding the
same advisory lock) is refused by name; the lock is re-entrant in this process and leaves no
lock file behind."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from suite.errors import BenchError
from suite.results.lock import results_lock

REPO = Path(__file__).resolve().parents[3]


def test_a_second_run_on_the_same_file_is_refused_with_how_to_resume(tmp_path):
    path = tmp_path / "results.json"
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from suite.results.lock import results_lock
        with results_lock(Path({str(path)!r})):
            print("held", flush=True)
            sys.stdin.readline()
        """)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(BenchError, match=rf"{path} is being written by another bench run.*bench run --resume {path}"):
            with results_lock(path):
                pass
    finally:
        holder.communicate("\n", timeout=30)
    with results_lock(path):  # released when the holder let go
        pass


def test_the_lock_is_reentrant_and_leaves_no_file(tmp_path):
    path = tmp_path / "sub" / "results.json"
    with results_lock(path):
        with results_lock(path):
            assert (tmp_path / "sub" / ".results.json.lock").exists()
        assert (tmp_path / "sub" / ".results.json.lock").exists()  # still held by the outer one
    assert list((tmp_path / "sub").iterdir()) == []


def test_an_unwritable_folder_is_named(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BenchError, match=r"Cannot write in .*file.*Choose another folder with -o"):
        with results_lock(blocker / "results.json"):
            pass
