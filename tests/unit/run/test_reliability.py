"""The runner's safety parts on their own: stop signals, the results lock, resume checks,
what `--resume` / `-o` / `--force` resolve to, the dependency preflight, exit descriptions."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from suite.config.bench_config import validate_config
from suite.errors import (
    BenchError,
    ConfigError,
    MissingDependencyError,
    ResultsFileError,
)
from suite.machine.environment import collect_environment
from suite.plan.preflight import check_dependencies
from suite.plan.preflight import plan_or_explain as _plan
from suite.results.io import save_results
from suite.results.lock import results_lock
from suite.results.schema import CaseResult, CaseSpec, Conditions, RunResult, utc_now
from suite.run.interrupts import StopRequested, stop_on_signals, stop_signals_deferred
from suite.run.resume import check_resumable, check_same_machine
from suite.run.resume_target import (
    find_resumable,
    new_run_output,
    prepare_resume,
    unfinished_runs,
)
from suite.run.runner import with_conditions
from suite.worker import describe_exit

FIX = Path(__file__).parents[2] / "fixtures"


def cfg(**extra):
    data = {"models": ["resnet18"], "backends": ["eager"], "batch_sizes": [1, 2], "output_dir": "out"}
    data.update(extra)
    return validate_config(data)


def saved_run(config, *, finished: bool = False, cases: int = 0, run_id: str = "r1") -> RunResult:
    run = RunResult(suite_version="0.1.0", run_id=run_id, created_at=utc_now(), config=config.model_dump(mode="json"),
                    config_hash=config.digest(), environment=collect_environment(),
                    finished_at=utc_now() if finished else None)
    for i in range(cases):  # one case per batch size: a run measures each case once
        spec = CaseSpec(model="resnet18", source="registry", modality="image", backend="eager", batch_size=i + 1,
                        threads=1)
        run.cases.append(CaseResult(spec=spec, id=spec.case_id, status="ok", started_at=utc_now(), duration_s=1.0))
    return run


# ----------------------------------------------------------------------------- signals


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130), (signal.SIGHUP, 129)])
def test_stop_signals_become_an_exception_and_handlers_come_back(sig, code):
    before = signal.getsignal(sig)
    with pytest.raises(StopRequested) as err:
        with stop_on_signals():
            os.kill(os.getpid(), sig)
            for _ in range(1000):  # the handler runs at the next bytecode boundary
                pass
    assert err.value.signum == sig and err.value.exit_code == code
    assert isinstance(err.value, KeyboardInterrupt)  # code that handles Ctrl-C handles all three
    assert signal.getsignal(sig) == before


def test_a_signal_during_a_deferred_block_waits_for_its_end():
    done = []
    with pytest.raises(StopRequested) as err:
        with stop_on_signals():
            with stop_signals_deferred() as pending:
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
                for _ in range(1000):
                    pass
                done.append("the save finished")
            assert pending == [signal.SIGTERM, signal.SIGINT]
    assert done == ["the save finished"] and err.value.signum == signal.SIGTERM  # the first one is acted on
    # already stopping (the rescue save): remembered, not acted on
    with stop_on_signals():
        with stop_signals_deferred(act_after=False) as pending:
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
        assert pending == [signal.SIGINT]


def test_ignored_signal_stays_ignored():
    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
    try:
        with stop_on_signals():
            os.kill(os.getpid(), signal.SIGHUP)  # would raise if it were handled
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)


# ----------------------------------------------------------------------------- lock


def _lock_from_another_process(path: Path) -> str:
    import subprocess

    code = ("import sys; from pathlib import Path; from suite.results.lock import results_lock\n"
            "try:\n    with results_lock(Path(sys.argv[1])): print('locked')\n"
            "except Exception as exc: print(exc)\n")
    repo = str(Path(__file__).resolve().parents[3])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [repo, os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env,
                          timeout=60, check=True).stdout


def test_results_lock_refuses_a_second_writer(tmp_path):
    path = tmp_path / "results-x.json"
    with results_lock(path):
        assert (tmp_path / ".results-x.json.lock").exists()
        assert "being written by another bench run" in _lock_from_another_process(path)
        # re-entrant in this process: `--resume` locks before reading, then the runner locks again
        with results_lock(path):
            pass
        assert (tmp_path / ".results-x.json.lock").exists()  # still held by the outer one
        assert "being written by another bench run" in _lock_from_another_process(path)
    assert not (tmp_path / ".results-x.json.lock").exists()
    assert _lock_from_another_process(path).strip() == "locked"  # free again


# ----------------------------------------------------------------------------- resume checks


def test_check_resumable_names_the_changed_fields():
    base = cfg()
    run = saved_run(base)
    check_resumable(run, base)
    check_resumable(run, cfg(output_dir="elsewhere", report=False, monitor={"interval_s": 5}))  # not measured
    with pytest.raises(BenchError) as err:
        check_resumable(run, cfg(batch_sizes=[1, 4], timing={"min_iters": 20}))
    msg = str(err.value)
    assert "Cannot resume run r1" in msg
    assert "batch_sizes: [1, 2] saved, [1, 4] now" in msg and "timing.min_iters: 10 saved, 20 now" in msg


def test_check_resumable_with_unusable_saved_config():
    run = saved_run(cfg())
    run.config = {"batches": [1]}
    with pytest.raises(BenchError, match="Cannot resume run r1: Invalid configuration.*Start a new run"):
        check_resumable(run, cfg())


def test_same_machine_is_required():
    run = saved_run(cfg())
    env = collect_environment()
    check_same_machine(run, env)
    other = env.model_copy(update={"cpu_model": "Cortex-A72", "packages": {**env.packages, "torch": "1.0"}})
    with pytest.raises(BenchError, match=r"another machine.*cpu_model: .* then, 'Cortex-A72' now; torch .* then, 1.0 now"):
        check_same_machine(run, other)
    check_same_machine(run, env.model_copy(update={"hostname": "container-4f2a"}))  # containers rename


def test_find_resumable(tmp_path):
    c = cfg()
    older, newer, done = saved_run(c, run_id="old"), saved_run(c, run_id="new"), saved_run(c, finished=True, run_id="done")
    newer.created_at = older.created_at.replace(year=older.created_at.year + 1)
    save_results(older, tmp_path / "results-a.json")
    save_results(newer, tmp_path / "results-b.json")
    save_results(done, tmp_path / "results-c.json")
    (tmp_path / "results-d.json").write_text('{"format": "bench-res')
    path, run = find_resumable(tmp_path)
    assert (path.name, run.run_id) == ("results-b.json", "new")
    assert [r.run_id for _, r in unfinished_runs(tmp_path)[0]] == ["new", "old"]
    with pytest.raises(BenchError, match="already finished"):
        find_resumable(tmp_path / "results-c.json")
    with pytest.raises(ResultsFileError, match="truncated"):
        find_resumable(tmp_path / "results-d.json")
    with pytest.raises(BenchError, match="no such file or folder"):
        find_resumable(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BenchError, match="holds no unfinished run"):
        find_resumable(empty)


def test_prepare_resume_uses_saved_config_and_refuses_changes(tmp_path):
    c = cfg(output_dir=str(tmp_path))
    save_results(saved_run(c, cases=1), tmp_path / "results-a.json")
    got, run, path = prepare_resume(tmp_path, preset=None, config_file=None, overrides={}, out=None)
    assert got.digest() == c.digest() and path == tmp_path / "results-a.json" and len(run.cases) == 1
    # restating the same flags is fine; --no-report too
    same, _, _ = prepare_resume(tmp_path, preset=None, config_file=None, out=tmp_path,
                                overrides={"batch_sizes": [2, 1], "backends": ["eager"], "report": False})
    assert same.report is False and same.digest() == c.digest()
    with pytest.raises(BenchError, match="batch_sizes: \\[1, 2\\] saved, \\[1, 8\\] now"):
        prepare_resume(tmp_path, preset=None, config_file=None, overrides={"batch_sizes": [1, 8]}, out=None)
    with pytest.raises(ConfigError, match="cannot move it"):
        prepare_resume(tmp_path, preset=None, config_file=None, overrides={}, out=tmp_path / "other")


def test_resume_runs_only_the_code_this_command_line_names(tmp_path):
    c = cfg(output_dir=str(tmp_path), models=["resnet18", "my_model.py:build"],
            energy={"vcgencmd": "/opt/vc/bin/vcgencmd"}, monitor={"vcgencmd": "/opt/vc/bin/vcgencmd"})
    save_results(saved_run(c, cases=1), tmp_path / "results-a.json")
    kw = {"preset": None, "out": None}
    with pytest.raises(BenchError) as err:
        prepare_resume(tmp_path, config_file=None, overrides={}, **kw)
    msg = str(err.value)
    assert "imports the Python file 'my_model.py:build' (models[1])" in msg
    assert "runs the command '/opt/vc/bin/vcgencmd' (energy.vcgencmd)" in msg
    assert "-m resnet18 -m my_model.py:build --vcgencmd /opt/vc/bin/vcgencmd" in msg and "--trust-config" in msg
    models = {"models": [{"name": "my_model.py:build", "pretrained": False}, {"name": "resnet18", "pretrained": False}]}
    with pytest.raises(BenchError, match="runs the command") as err:  # the model named, the command not
        prepare_resume(tmp_path, config_file=None, overrides=models, **kw)
    assert "Python file" not in str(err.value)
    got, _, _ = prepare_resume(tmp_path, config_file=None, overrides=models, vcgencmd="/opt/vc/bin/vcgencmd", **kw)
    assert got.digest() == c.digest()  # -m in another order restates the saved models
    with pytest.raises(ConfigError, match="--vcgencmd vcgencmd is not the command"):
        prepare_resume(tmp_path, config_file=None, overrides=models, vcgencmd="vcgencmd", **kw)
    named = tmp_path / "mine.toml"
    named.write_text('models = ["resnet18", "my_model.py:build"]\n[energy]\nvcgencmd = "/opt/vc/bin/vcgencmd"\n')
    prepare_resume(tmp_path, config_file=str(named), overrides={}, **kw)  # a config file named here counts
    prepare_resume(tmp_path, config_file=None, overrides={}, trust_config=True, **kw)


def test_new_run_output_never_clobbers_without_force(tmp_path):
    c = cfg(output_dir=str(tmp_path))
    assert new_run_output(c, None, force=False) is None  # nothing there yet
    target = tmp_path / "mine.json"
    assert new_run_output(c, target, force=False) == target
    target.write_text("{}")
    with pytest.raises(BenchError, match="already exists. Pass --force"):
        new_run_output(c, target, force=False)
    assert new_run_output(c, target, force=True) == target
    save_results(saved_run(c, cases=0), tmp_path / "results-0.json")
    assert new_run_output(c, None, force=False) is None  # stopped before its first case: nothing to lose
    save_results(saved_run(c, cases=2), tmp_path / "results-a.json")
    with pytest.raises(BenchError, match="holds an unfinished run with this configuration.*--resume .*results-a.json"):
        new_run_output(c, None, force=False)
    assert new_run_output(c, None, force=True) is None
    assert new_run_output(cfg(output_dir=str(tmp_path), batch_sizes=[4]), None, force=False) is None  # another config


# ----------------------------------------------------------------------------- preflight


def test_missing_backend_dependency_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    check_dependencies(cfg())  # eager only: fine
    with pytest.raises(MissingDependencyError, match=r"'onnxruntime'.*pip install 'bench-suite\[ort\]'"):
        check_dependencies(cfg(backends=["eager", "ort"]))


def test_missing_model_dependency_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"'transformers'.*bench-suite\[torch\]"):
        _plan(cfg(models=["hf:bert"]), 1)


# ----------------------------------------------------------------------------- results


def test_with_conditions_merges_flags_once():
    from types import SimpleNamespace

    from suite.results.flags import flag

    spec = CaseSpec(model="m", source="file", modality="other", backend="eager", batch_size=1, threads=1)
    var, hot, cool = flag("high_variance", "x"), flag("throttling", "CPU hot"), flag("cooldown_timeout", "y")
    r = CaseResult(spec=spec, id=spec.case_id, status="ok", started_at=utc_now(), duration_s=1, flags=[var])
    watched = SimpleNamespace(conditions=Conditions(cpu_temp_c_max=81.0), flags=[hot])
    out = with_conditions(r, watched, [cool, hot])
    assert out.flags == [var, hot, cool]
    assert out.conditions.cpu_temp_c_max == 81.0
    assert with_conditions(r, None) is r


@pytest.mark.parametrize("code, kind, words", [
    (-signal.SIGKILL, "oom", "SIGKILL (most likely the out-of-memory killer)"),
    (-signal.SIGSEGV, "crash", "SIGSEGV"),
    (-signal.SIGABRT, "crash", "SIGABRT"),
    (1, "crash", "exited with status 1 without a result"),
])
def test_describe_exit(code, kind, words):
    k, msg = describe_exit(code)
    assert k == kind and words in msg


_CAP_CHILD = """
import sys
from suite.worker import limit_memory
assert limit_memory(64) is not None, "no cap was set"
try:
    bytearray(256 * 2**20)  # 256 MB > 64 MB
    sys.exit(1)
except MemoryError:
    pass
bytearray(8 * 2**20)  # well under the cap still works
sys.exit(42)
"""


def test_limit_memory_caps_allocation_in_a_child():
    """In a fresh interpreter (the cap is per process and cannot be lifted again). Not a fork of
    pytest: after hundreds of tests its heap holds freed blocks that malloc can hand back without
    growing the data segment, so a fork could "allocate" 256 MB under the cap (seen in CI)."""
    import subprocess

    proc = subprocess.run([sys.executable, "-c", _CAP_CHILD], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 42, proc.stderr
