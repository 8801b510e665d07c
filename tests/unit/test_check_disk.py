"""scripts/check-disk.sh: the test and default-run commands stop at once, in one paragraph, when the
disk cannot hold what they will write (a CI run once died of ENOSPC 20 minutes in). Driven against
this machine's real free space, read independently by shutil.disk_usage."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "check-disk.sh"
GB = 1024**3


def _check(*specs: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(SCRIPT), "the tests", *specs], capture_output=True, text=True,
                          env=env, timeout=30)


def test_needs_that_fit_pass_and_paths_need_not_exist_yet(tmp_path):
    res = _check(f"{tmp_path}/not/yet/made:1:temp")
    assert res.returncode == 0 and res.stderr == ""


def test_needs_on_one_filesystem_are_added_up_before_they_are_compared(tmp_path):
    free = shutil.disk_usage(tmp_path).free // GB  # df -BG rounds up; // rounds down
    half = free // 2 + 1  # each half fits alone, the two together do not
    assert _check(f"{tmp_path}/a:{half}").returncode == 0
    res = _check(f"{tmp_path}/a:{half}:venv", f"{tmp_path}/b:{half}:temp")
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert f"{2 * half} GB needed (venv {half} GB, temp {half} GB)" in lines[0]
    assert "BENCH_DISK_CHECK=0" in lines[0]


def test_the_check_can_be_switched_off(tmp_path):
    import os

    env = dict(os.environ, BENCH_DISK_CHECK="0")
    assert _check(f"{tmp_path}/a:100000", env=env).returncode == 0
