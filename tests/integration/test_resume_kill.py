"""A real `bench run` SIGKILLed mid-way (no handler runs: as after a power cut or the OOM
killer taking the main process), then resumed: the final file holds every case exactly once,
and nothing finished before the kill was run again. Also what the CLI refuses around it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from suite.results.io import load_results

TINY = Path(__file__).parent.parent / "fixtures" / "models" / "crash_tiny.py"
N_CASES = 6


def bench_cmd(tmp_path: Path, *args: str) -> list[str]:
    cfg = tmp_path / "slowish.toml"
    cfg.write_text('backends = ["eager"]\nthreads = 1\n[timing]\nwarmup_min = 1\nwarmup_max = 3\nmin_iters = 3\n'
                   "min_time_s = 0.8\nmax_time_s = 1.0\n[energy]\nenabled = false\n")
    return [sys.executable, "-m", "suite", "run", "-c", str(cfg), "-m", str(TINY), "-b", "1,2,3,4,5,6", *args]


def bench(args: list[str], timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="300")
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=timeout)


def one_paragraph(stderr: str) -> str:
    text = stderr.strip()
    assert text.startswith("error: ") and "Traceback" not in text, stderr
    return " ".join(text.split())


def test_sigkill_then_resume(tmp_path):
    out = tmp_path / "out"
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1")
    proc = subprocess.Popen(bench_cmd(tmp_path, "-o", str(out), "--no-report"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 180
    path = None
    while time.monotonic() < deadline and path is None:
        assert proc.poll() is None, proc.communicate()
        for f in out.glob("results-*.json"):
            if len(json.loads(f.read_text())["cases"]) >= 2:
                path = f
        time.sleep(0.05)
    assert path is not None
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    # the worker of the case in flight does not outlive the run (PR_SET_PDEATHSIG via the forkserver)
    _, alive = psutil.wait_procs(children, timeout=15)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]

    before = json.loads(path.read_text())  # a whole document: written by rename, never in place
    k = len(before["cases"])
    assert 2 <= k < N_CASES and before["finished_at"] is None
    assert not list(out.glob(".*.tmp"))

    # the same command again would start over beside it: refused, pointing at --resume
    again = bench(bench_cmd(tmp_path, "-o", str(out), "--no-report"))
    assert again.returncode == 2
    msg = one_paragraph(again.stderr)
    assert "holds an unfinished run with this configuration" in msg and f"bench run --resume {path} -m {TINY}" in msg

    # resuming with a changed configuration is refused, naming what changed
    changed = bench([sys.executable, "-m", "suite", "run", "--resume", str(out), "-m", str(TINY), "-b", "1,2"])
    assert changed.returncode == 2
    assert "batch_sizes: [1, 2, 3, 4, 5, 6] saved, [1, 2] now" in one_paragraph(changed.stderr)

    # the model file is imported only when this command line names it again (a results file is data)
    unnamed = bench([sys.executable, "-m", "suite", "run", "--resume", str(out), "--no-report"])
    assert unnamed.returncode == 2 and f"imports the Python file '{TINY}'" in one_paragraph(unnamed.stderr)

    # resume from the folder: only the missing cases run
    res = bench([sys.executable, "-m", "suite", "run", "--resume", str(out), "-m", str(TINY), "--no-report"])
    assert res.returncode == 0, res.stderr
    assert f"({N_CASES - k} case(s) to run)" in res.stderr
    after = json.loads(path.read_text())
    ids = [c["id"] for c in after["cases"]]
    assert len(ids) == N_CASES and len(set(ids)) == N_CASES
    assert sorted(c["spec"]["batch_size"] for c in after["cases"]) == [1, 2, 3, 4, 5, 6]
    # finished cases were kept as they were (same start time, same samples), not re-run
    assert after["cases"][:k] == before["cases"]
    assert all(c["status"] == "ok" for c in after["cases"])
    assert after["finished_at"] is not None and after["interrupted"] is False
    assert after["run_id"] == before["run_id"] and after["created_at"] == before["created_at"]
    assert len(list(out.glob("results-*.json"))) == 1
    load_results(path)  # valid against the schema

    # and now there is nothing left to resume
    done = bench([sys.executable, "-m", "suite", "run", "--resume", str(path)])
    assert done.returncode == 2 and "already finished" in one_paragraph(done.stderr)
    nothing = bench([sys.executable, "-m", "suite", "run", "--resume", str(out)])
    assert nothing.returncode == 2 and "holds no unfinished run" in one_paragraph(nothing.stderr)


def test_killed_run_leaves_no_hung_worker(tmp_path):
    """A worker stuck in a case (here: sleeping for an hour) dies with the run, instead of
    being orphaned and holding memory and a core until its case would have finished."""
    out = tmp_path / "out"
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1")
    hang = str(TINY.parent / "crash_sleep.py")
    # --no-peaks: the device ceilings' short-lived worker would be the first child found
    proc = subprocess.Popen([sys.executable, "-m", "suite", "run", "-m", hang, "--backends", "eager", "--no-energy",
                             "--no-report", "--no-peaks", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 120
    worker = None
    while worker is None and time.monotonic() < deadline:
        assert proc.poll() is None
        for p in psutil.Process(proc.pid).children():
            if "multiprocessing.forkserver" in " ".join(p.cmdline()) and p.children():
                # workers are forked by the forkserver; short-lived ones (a model file's look-over,
                # the device ceilings) come first: the case's worker is the one still there 1 s later
                first = p.children()[0]
                time.sleep(1.0)
                if first.is_running() and first.status() != psutil.STATUS_ZOMBIE:
                    worker = first
        time.sleep(0.1)
    assert worker is not None
    time.sleep(1.0)  # well inside the hour-long forward
    everyone = psutil.Process(proc.pid).children(recursive=True)
    assert worker.is_running()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    _, alive = psutil.wait_procs(everyone, timeout=15)
    assert not alive, [(p.pid, p.cmdline()) for p in alive]
