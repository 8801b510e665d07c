"""Stopping a real `bench run`: SIGTERM (what `docker stop` sends) and Ctrl-C (SIGINT to the
whole foreground process group, workers included) save every finished case, mark the run
interrupted, print how to resume, and exit 143 / 130 without leaving a worker behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from suite.results.io import load_results

TINY = Path(__file__).parent.parent / "fixtures" / "models" / "crash_tiny.py"
BATCHES = "1,2,3,4,5,6"


def write_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "slowish.toml"
    # each case takes ~1 s (min_time_s), so a signal lands while one is in flight
    cfg.write_text('backends = ["eager"]\nthreads = 1\n[timing]\nwarmup_min = 1\nwarmup_max = 3\nmin_iters = 3\n'
                   "min_time_s = 0.8\nmax_time_s = 1.0\n[energy]\nenabled = false\n")
    return cfg


def start_bench(tmp_path: Path, out: Path, **popen) -> subprocess.Popen:
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="300")
    cmd = [sys.executable, "-m", "suite", "run", "-c", str(write_config(tmp_path)), "-m", str(TINY),
           "-b", BATCHES, "-o", str(out), "--no-report"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen)


def wait_for_cases(out: Path, n: int, proc: subprocess.Popen, timeout_s: float = 180) -> Path:
    """Poll the results file (replaced atomically, so every read is a whole document)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for f in out.glob("results-*.json"):
            if len(json.loads(f.read_text())["cases"]) >= n:
                return f
        time.sleep(0.05)
    raise AssertionError(f"no {n} case(s) in {out} after {timeout_s} s")


def descendants(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def assert_all_gone(procs: list[psutil.Process], timeout_s: float = 15) -> None:
    _, alive = psutil.wait_procs(procs, timeout=timeout_s)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]


@pytest.mark.parametrize("how", ["sigterm", "ctrl-c"])
def test_stop_saves_and_says_how_to_resume(tmp_path, how):
    out = tmp_path / "out"
    proc = start_bench(tmp_path, out, start_new_session=True)
    path = wait_for_cases(out, 1, proc)
    children = descendants(proc.pid)
    assert children  # forkserver, worker
    if how == "sigterm":
        proc.send_signal(signal.SIGTERM)
        sig, code = "SIGTERM", 143
    else:  # a terminal's Ctrl-C: the whole foreground process group, the case worker included
        os.killpg(proc.pid, signal.SIGINT)
        sig, code = "SIGINT", 130
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert "Traceback" not in stderr

    run = load_results(path)
    n = len(run.cases)
    assert 1 <= n < 6
    assert run.interrupted and run.finished_at is None
    # the case in flight was dropped, not recorded as crashed by the signal
    assert all(c.status == "ok" for c in run.cases), [c.error for c in run.cases]
    assert len({c.id for c in run.cases}) == n
    # the resume command names the model file again: resuming imports only what the command line names
    message = (f"Interrupted ({sig}): {n} of 6 cases saved in {path}. "
               f"Resume with: bench run --resume {path} -m {TINY}")
    assert message in " ".join(stderr.split()), stderr
    assert not list(out.glob(".*.lock")) and not list(out.glob(".*.tmp"))
    assert_all_gone(children)
