"""suite.machine.vcgencmd: running the Pi firmware's command. Real programs stand in for it
(shell scripts written here): its output, a failure with its last line, a hang, a file that is
not executable and a missing one each come back as the caller's error, worded once."""

from __future__ import annotations

import stat
import time

import pytest

from suite.machine.vcgencmd import COMMAND_TIMEOUT_S, run_vcgencmd


class Failed(Exception):
    pass


def _script(tmp_path, body: str, executable: bool = True):
    path = tmp_path / "vcgencmd"
    path.write_text("#!/bin/sh\n" + body)
    if executable:
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_the_commands_output_and_its_arguments(tmp_path):
    cmd = _script(tmp_path, 'echo "args: $*"\n')
    assert run_vcgencmd([cmd, "--flag"], "get_throttled", Failed) == "args: --flag get_throttled\n"


def test_a_non_zero_exit_gives_the_last_line_it_printed(tmp_path):
    cmd = _script(tmp_path, 'echo "VCHI init failed" >&2\necho "second line" >&2\nexit 3\n')
    with pytest.raises(Failed, match=r"^`.*vcgencmd pmic_read_adc` exited 3: second line$"):
        run_vcgencmd([cmd], "pmic_read_adc", Failed)


def test_a_hang_is_stopped_at_the_timeout(tmp_path):
    cmd = _script(tmp_path, "exec sleep 30\n")
    t0 = time.monotonic()
    with pytest.raises(Failed, match=f"took over {COMMAND_TIMEOUT_S:g} s"):
        run_vcgencmd([cmd], "get_throttled", Failed)
    assert time.monotonic() - t0 < COMMAND_TIMEOUT_S + 5


def test_a_missing_or_unexecutable_command_is_named(tmp_path):
    with pytest.raises(Failed, match=r"^/nonexistent/vcgencmd not found$"):
        run_vcgencmd(["/nonexistent/vcgencmd"], "get_throttled", Failed)
    # no execute bit at all: refused even to root (execve needs one x bit set)
    cmd = _script(tmp_path, "echo hi\n", executable=False)
    with pytest.raises(Failed, match="is not executable"):
        run_vcgencmd([cmd], "get_throttled", Failed)
