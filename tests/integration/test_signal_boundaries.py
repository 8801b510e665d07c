"""One Ctrl-C at every case boundary of a 6-case run, through the installed `bench`: right after a
finished case joins the run (while its comparison imports numpy and scipy for the first time, the
window where a half-imported numpy once lost the case), right after it is saved, and right after
the run is stamped finished. Every stop keeps every case saved so far, exits 130 and prints a
command that works: the test follows each printed resume command to the next boundary.

The signal is sent from inside the `bench` process by a sitecustomize (the parent only, never the
forkserver or a worker), to the whole process group as a terminal's Ctrl-C is, at the exact
moment named: polling the results file from outside cannot hit a window of milliseconds."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from suite.results.io import load_results
from tests.console_script import script, script_env

TINY = Path(__file__).parent.parent / "fixtures" / "models" / "crash_tiny.py"
N_CASES = 6

SITECUSTOMIZE = r'''
import importlib.abc
import importlib.util
import os
import signal
import sys

WHEN = os.environ.get("BENCH_TEST_SIGINT", "")  # appended:K | saved:K | finished
state = {"fired": False, "armed": 0}


def fire(where="between"):
    if not state["fired"]:
        state["fired"] = True
        with open(os.environ["BENCH_TEST_SIGINT_LOG"], "a") as log:
            log.write(f"{WHEN} {where}\n")
        os.killpg(os.getpgid(0), signal.SIGINT)  # a terminal's Ctrl-C: the whole foreground group


class Hooks(importlib.abc.MetaPathFinder):
    """Patches two suite modules as they are imported; once armed, fires from inside the next
    package import (a signal landing in the middle of numpy's or scipy's first import)."""

    def find_spec(self, name, path, target=None):
        # armed: fire at the 30th submodule of a package being imported: numpy half-imported
        # (at 15, 30 and 60 deep, suites before issue 23 lost the case: an ImportError, an
        # AttributeError, a RecursionError from numpy's __getattr__ in the rescue save)
        if state["armed"] and "." in name and name.partition(".")[0] in sys.modules:
            state["armed"] -= 1
            if not state["armed"]:
                fire(f"importing {name}")
        if name not in ("suite.results.io", "suite.results.comparisons"):
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        run_module = spec.loader.exec_module

        def exec_module(module):
            run_module(module)
            (patch_io if name == "suite.results.io" else patch_comparisons)(module)

        spec.loader.exec_module = exec_module
        return spec


def patch_io(module):
    save = module.save_results

    def save_results(run, path):
        save(run, path)
        kind, _, k = WHEN.partition(":")
        if kind == "saved" and len(run.cases) == int(k) and run.finished_at is None:
            fire()
        elif kind == "finished" and run.finished_at is not None:
            fire()

    module.save_results = save_results


def patch_comparisons(module):
    new = module.new_comparisons

    def new_comparisons(cases, existing, *args, **kwargs):
        kind, _, k = WHEN.partition(":")
        if kind == "appended" and len(cases) == int(k) and not state["fired"]:
            state["armed"] = 30  # fire inside the first import this call makes...
            out = new(cases, existing, *args, **kwargs)
            state["armed"] = 0
            fire()  # ...or, if it imports nothing, before the case is saved
            return out
        return new(cases, existing, *args, **kwargs)

    module.new_comparisons = new_comparisons


if WHEN and os.path.basename(sys.argv[0]) == "bench":
    sys.meta_path.insert(0, Hooks())
'''


def bench_until_signal(args: list[str], when: str, tmp_path: Path) -> subprocess.CompletedProcess:
    hooks = tmp_path / "hooks"
    hooks.mkdir(exist_ok=True)
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = script_env({"PYTHONPATH": str(hooks), "BENCH_TEST_SIGINT": when,
                      "BENCH_TEST_SIGINT_LOG": str(tmp_path / "fired.txt")})
    # its own session: the signal to "the foreground group" reaches bench and its workers, not pytest
    return subprocess.run([str(script()), *args], capture_output=True, text=True, env=env, timeout=300,
                          start_new_session=True, check=False)


def stop_at_every_case(args: list[str], kind: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """Run, stop with one SIGINT at `kind`:K, resume with the printed command, for K = 1..6.
    Returns the results file and the last resume command (its arguments)."""
    path = None
    for k in range(1, N_CASES + 1):
        when = f"{kind}:{k}"
        res = bench_until_signal(args, when, tmp_path)
        assert res.returncode == 130, (when, res.returncode, res.stderr)
        assert "Traceback" not in res.stderr + res.stdout, (when, res.stderr)
        text = " ".join(res.stderr.split())
        m = re.search(r"Interrupted \(SIGINT\): (\d+) of 6 cases saved in (\S+)\. Resume with: (.+)$", text)
        assert m, (when, text)
        assert path is None or Path(m.group(2)) == path
        path = Path(m.group(2))
        run = load_results(path)
        # the case that had just finished is in the file, the run marked interrupted, not finished
        assert len(run.cases) == int(m.group(1)) == k, (when, len(run.cases), text)
        assert run.interrupted and run.finished_at is None, when
        assert all(c.status == "ok" for c in run.cases), [c.error for c in run.cases]
        resume = shlex.split(m.group(3))
        assert resume[:4] == ["bench", "run", "--resume", str(path)], resume
        args = [*resume[1:], "--no-report"]
    assert path is not None
    return path, args


def assert_complete(path: Path) -> None:
    run = load_results(path)
    assert len({c.id for c in run.cases}) == len(run.cases) == N_CASES
    assert run.finished_at is not None and not run.interrupted
    assert json.loads(path.read_text())["interrupted"] is False
    assert all(c.status == "ok" for c in run.cases)
    # every ort case compared with its eager case, once
    assert sorted((c.baseline_case, c.candidate_case) for c in run.comparisons) == sorted(
        (e.id, o.id) for e in run.cases for o in run.cases
        if e.spec.backend == "eager" and o.spec.backend == "ort" and e.spec.batch_size == o.spec.batch_size)


def test_sigint_at_every_case_boundary_keeps_every_saved_case(tmp_path):
    cfg = tmp_path / "short.toml"
    cfg.write_text('backends = ["eager", "ort"]\nthreads = 1\ninterleave = false\n[timing]\nwarmup_min = 1\n'
                   "warmup_max = 2\nmin_iters = 3\nmin_time_s = 0.05\nmax_time_s = 0.1\n[energy]\nenabled = false\n")

    def fresh(name: str) -> list[str]:
        return ["run", "-c", str(cfg), "-m", str(TINY), "-b", "1,2,3", "-o", str(tmp_path / name), "--no-report",
                "--no-peaks"]

    # right after each case joins the run, before it is saved
    path, resume = stop_at_every_case(fresh("appended"), "appended", tmp_path)
    # the last resume finishes the run; a signal right after that is answered with what is on
    # disk: the complete run, and how to write its report
    res = bench_until_signal(resume, "finished", tmp_path)
    assert res.returncode == 130, res.stderr
    assert "Traceback" not in res.stderr + res.stdout
    assert (f"Interrupted (SIGINT) after the run finished: all {N_CASES} cases are saved in {path}. "
            f"Write its report with: bench report {path}") in " ".join(res.stderr.split())
    assert_complete(path)

    # right after each case is saved
    path, resume = stop_at_every_case(fresh("saved"), "saved", tmp_path)
    res = bench_until_signal(resume, "", tmp_path)
    assert res.returncode == 0, res.stderr
    assert_complete(path)

    # each stop was the signal asked for; where a case completes an eager/ort pair, its comparison
    # imports numpy in that fresh process, and the signal cut that import in half
    fired = dict(line.split(" ", 1) for line in (tmp_path / "fired.txt").read_text().splitlines())
    assert len(fired) == 2 * N_CASES + 1, fired
    for k in (2, 4, 6):
        assert fired[f"appended:{k}"].startswith("importing numpy."), fired
