"""`bench run --resume` against results files it did not write itself, or is not alone with:

- a results file is data: the programs and Python files its saved configuration names are not
  run or imported unless this command line names them again (or --trust-config);
- the file is locked before it is read, so a second resume never works from a stale copy;
- a second stop signal during the rescue save neither cuts the save nor misreports it;
- a kill's leftover temporary is removed on resume; impossible thread counts and refused runs
  leave nothing behind.

All through the installed `bench` console script, as a shell runs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from console_script import installed_bench, script, script_env, usage_error

from suite.results.io import load_results
from suite.results.lock import results_lock

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "fixtures" / "models" / "crash_tiny.py"


def bench(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return installed_bench(*args, cwd=cwd, timeout=timeout, columns=400)




@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    """A real run on this machine: the tiny model, batch sizes 1-4, eager, quick timing."""
    tmp = tmp_path_factory.mktemp("tiny")
    cfg = tmp / "fast.toml"
    cfg.write_text('backends = ["eager"]\nthreads = 1\n[timing]\nwarmup_min = 1\nwarmup_max = 2\nmin_iters = 3\n'
                   "min_time_s = 0\nmax_time_s = 0.2\n[energy]\nenabled = false\n")
    out = tmp / "out"
    res = bench("run", "-c", str(cfg), "-m", str(TINY), "-b", "1,2,3,4", "-o", str(out), "--no-report", cwd=tmp)
    assert res.returncode == 0, res.stderr
    (path,) = out.glob("results-*.json")
    return path


def unfinished_copy(finished: Path, folder: Path, keep: int = 4, edit=None) -> Path:
    """The finished run as if it had stopped after `keep` cases (all of them: nothing to measure)."""
    doc = json.loads(finished.read_text())
    doc.update(finished_at=None, interrupted=True, cases=doc["cases"][:keep], comparisons=[])
    if edit is not None:
        edit(doc)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / finished.name
    path.write_text(json.dumps(doc))
    return path


# ----------------------------------------------------------------------------- a results file is data


def test_resume_never_runs_what_only_the_results_file_names(finished_run, tmp_path):
    marker_cmd, marker_import = tmp_path / "vcgencmd-ran", tmp_path / "model-imported"
    tool = tmp_path / "tool.py"
    tool.write_text(f"open({str(marker_cmd)!r}, 'w').write('ran')\nprint('frequency(0)=0')\n")
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(marker_import)!r}, 'w').write('imported')\n"
                    "import torch\ndef create_model():\n    return torch.nn.Linear(16, 4)\nINPUT_SHAPE = (16,)\n")
    command = f"{sys.executable} {tool}"

    def hostile(doc):
        doc["config"]["models"] = [{"name": str(evil)}]
        doc["config"]["energy"].update(enabled=True, meter="rpi5-pmic", vcgencmd=command)
        doc["config"]["monitor"].update(enabled=True, vcgencmd=command)

    shared = tmp_path / "shared-reports"
    path = unfinished_copy(finished_run, shared, keep=2, edit=hostile)
    for target in (path, shared):  # the file, and the folder (its newest unfinished run)
        flat = usage_error(bench("run", "--resume", str(target), cwd=tmp_path))
        assert f"imports the Python file '{evil}' (models[0])" in flat, flat
        assert f"runs the command '{command}' (energy.vcgencmd)" in flat and "(monitor.vcgencmd)" in flat
        assert "A results file is data" in flat
        assert f"-m {evil} --vcgencmd '{command}'" in flat and "--trust-config" in flat
    # reading it is harmless too: report, compare
    assert bench("report", str(path), "-o", str(tmp_path / "r" / "report.html"), "--no-figures",
                 cwd=tmp_path).returncode == 0
    assert bench("compare", str(path), str(path), cwd=tmp_path).returncode in (0, 1)
    assert not marker_cmd.exists() and not marker_import.exists()
    assert json.loads(path.read_text())["finished_at"] is None  # and the file was left as it was


def test_resume_runs_a_model_file_the_command_line_names(finished_run, tmp_path):
    path = unfinished_copy(finished_run, tmp_path / "out")
    flat = usage_error(bench("run", "--resume", str(path), cwd=tmp_path))
    assert f"imports the Python file '{TINY}'" in flat and f"bench run --resume {path} -m {TINY}" in flat
    # a kill in the middle of a save left its temporary beside the results (an 80 MB one, in the issue)
    stale = path.with_name(f".{path.name}.k1ll3d.tmp")
    stale.write_text('{"format": "bench-res')
    other = path.with_name(".results-another-run.json.x.tmp")
    other.write_text("not ours")
    res = bench("run", "--resume", str(path), "-m", str(TINY), "--no-report", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "(0 case(s) to run)" in res.stderr and f"removed {stale.name}" in " ".join(res.stderr.split())
    run = load_results(path)
    assert run.finished_at is not None and len(run.cases) == 4
    assert not stale.exists() and other.exists()  # only this run's temporaries
    # --trust-config accepts what the file names, after reading the refusal
    again = unfinished_copy(finished_run, tmp_path / "again")
    assert bench("run", "--resume", str(again), "--trust-config", "--no-report", cwd=tmp_path).returncode == 0


# ----------------------------------------------------------------------------- lock before reading


def test_resume_takes_the_lock_before_it_reads(finished_run, tmp_path):
    """While another run holds the file, a second --resume must not judge (or measure from) what
    it reads: here the holder has just written the last case and the finished mark, and the
    second would have said 'already finished' from a read it had no right to make."""
    path = unfinished_copy(finished_run, tmp_path / "out")
    with results_lock(path):
        flat = usage_error(bench("run", "--resume", str(path), "-m", str(TINY), cwd=tmp_path))
        assert f"{path} is being written by another bench run that is still going" in flat
        doc = json.loads(path.read_text())
        doc["finished_at"] = doc["created_at"]
        path.write_text(json.dumps(doc))
        flat = usage_error(bench("run", "--resume", str(path), "-m", str(TINY), cwd=tmp_path))
        assert "being written by another bench run" in flat, flat
        flat = usage_error(bench("run", "--resume", str(path.parent), "-m", str(TINY), cwd=tmp_path))
        assert "holds no unfinished run" in flat  # a folder is read to choose; nothing to choose
    flat = usage_error(bench("run", "--resume", str(path), "-m", str(TINY), cwd=tmp_path))
    assert "already finished" in flat  # the lock released, the file read is the final one


# ----------------------------------------------------------------------------- two stop signals


def test_a_second_stop_signal_during_the_rescue_save_loses_nothing(finished_run, tmp_path):
    """Two Ctrl-Cs: the first lands while the results file (~60 MB) is being written after a
    case, the second while the rescue save that follows is being written. Both saves complete
    and the message states what the file holds."""
    samples = 1_200_000

    def heavy(doc):
        from suite.metrics.latency import summarize_latency

        for c in doc["cases"]:  # finished cases with many samples: every save writes ~60 MB
            c["latency"]["samples_ms"] = [c["latency"]["samples_ms"][0]] * samples
            # the summary of those samples (a file whose summary is not its samples' is refused)
            c["latency"]["summary"] = summarize_latency(c["latency"]["samples_ms"], c["spec"]["batch_size"],
                                                        0.95).model_dump(mode="json")
        doc["config"]["timing"].update(min_time_s=1.0, max_time_s=1.5)

    path = unfinished_copy(finished_run, tmp_path / "out", keep=3, edit=heavy)
    proc = subprocess.Popen([str(script()), "run", "--resume", str(path), "-m", str(TINY), "--no-report"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=script_env(columns=400),
                            cwd=tmp_path)
    seen: list[str] = []
    deadline = time.monotonic() + 240
    while len(seen) < 3 and time.monotonic() < deadline and proc.poll() is None:
        for entry in os.scandir(path.parent):
            if entry.name.endswith(".tmp") and entry.name not in seen:
                seen.append(entry.name)
                # the 2nd: the save after the last case (first Ctrl-C); the 3rd: the rescue save
                # that the first starts (second Ctrl-C)
                if len(seen) in (2, 3):
                    proc.send_signal(signal.SIGINT)
        time.sleep(0.002)
    _, stderr = proc.communicate(timeout=240)
    assert len(seen) == 3, (seen, stderr)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    run = load_results(path)
    assert len(run.cases) == 4 and run.interrupted and run.finished_at is None
    flat = " ".join(stderr.split())
    assert f"Interrupted (SIGINT): 4 of 4 cases saved in {path}." in flat, flat
    assert not list(path.parent.glob(".*.tmp"))


# ----------------------------------------------------------------------------- refused before anything


def test_impossible_thread_count_is_refused_and_leaves_no_folder(tmp_path):
    out = tmp_path / "new" / "out"
    flat = usage_error(bench("run", "-m", str(TINY), "--backends", "eager", "--threads", "100000", "-o", str(out),
                               "--no-energy", "--no-report", cwd=tmp_path))
    cores = os.cpu_count()
    assert f"threads = 100000 is more than 4 x this machine's {cores} logical cores ({4 * cores})" in flat
    assert "out of memory" in flat
    assert not (tmp_path / "new").exists()
    usage_error(bench("run", "-m", "resnet-18", "-o", str(out), "--no-energy", "--no-report", cwd=tmp_path))
    assert not (tmp_path / "new").exists()  # a refused run leaves no empty output folder
