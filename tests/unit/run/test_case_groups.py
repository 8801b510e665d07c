"""suite.run.group: a case, or the interleaved group of one model x batch x size, in a worker of
its own. Purpose-built models in real worker processes: a hang is killed at the group's timeout,
a death fails every case of its group naming the backends, a memory-capped worker's failure says
the cap; inline, an interleaved group reports no memory figure, and says why."""

from __future__ import annotations

import time
from pathlib import Path

from suite.config.bench_config import validate_config
from suite.plan.sweep import plan_cases
from suite.run.case import CaseContext
from suite.run.group import execute_group, run_in_worker

MODELS = Path(__file__).resolve().parents[2] / "fixtures" / "models"
FAST = {"warmup_min": 1, "warmup_max": 2, "min_iters": 3, "min_time_s": 0, "max_time_s": 0.2}


def _group(tmp_path, model: str, backends: list[str], **config):
    cfg = validate_config({"models": [str(MODELS / model)], "backends": backends, "batch_sizes": [1], "threads": 1,
                           "energy": {"enabled": False}, "timing": FAST, "output_dir": str(tmp_path), **config})
    return plan_cases(cfg, threads=1), CaseContext(config=cfg)


def test_a_hang_is_killed_at_the_timeout_and_recorded_as_the_cases(tmp_path):
    group, ctx = _group(tmp_path, "crash_sleep.py", ["eager"])
    # planned with the default timeout (the planner looks the file over in a worker too), run with 4 s
    ctx = CaseContext(config=ctx.config.model_copy(update={"case_timeout_s": 4.0}))
    t0 = time.monotonic()
    [result] = execute_group(group, ctx)
    assert time.monotonic() - t0 < 4.0 + 30
    assert (result.status, result.error.kind) == ("failed", "timeout")
    assert result.error.message == "case did not finish within 4 s (killed)"
    assert result.id == group[0].spec.case_id and 4.0 <= result.duration_s


def test_a_worker_that_dies_fails_every_case_of_its_group_by_name(tmp_path):
    group, ctx = _group(tmp_path, "crash_abort.py", ["eager", "eager-cl"])
    results = run_in_worker(group, ctx, timeout_s=60.0)
    assert [r.spec.backend for r in results] == ["eager", "eager-cl"]
    for r in results:
        assert (r.status, r.error.kind) == ("failed", "crash")
        assert r.error.message == ("worker died from SIGABRT (the worker ran eager, eager-cl interleaved: every case "
                                   "of the group fails with it; --no-interleave runs each in its own worker)")


def test_a_memory_capped_workers_failure_names_the_cap(tmp_path):
    group, ctx = _group(tmp_path, "crash_alloc.py", ["eager"], worker_memory_limit_mb=256)
    [result] = execute_group(group, ctx)
    assert (result.status, result.error.kind) == ("failed", "oom")
    assert result.error.message.endswith("(worker_memory_limit_mb = 256: the case may allocate at most 256 MB beyond "
                                         "the worker's starting footprint)")


def test_a_working_case_reports_its_worker_start(tmp_path):
    group, ctx = _group(tmp_path, "crash_tiny.py", ["eager"])
    [result] = execute_group(group, ctx)
    assert result.status == "ok" and result.phases_s["worker_start"] >= 0
    assert result.memory is not None and result.memory.scope == "case"


def test_inline_an_interleaved_group_has_no_memory_figure_and_says_why(tmp_path):
    group, ctx = _group(tmp_path, "tiny_user_model.py", ["eager", "eager-cl"], isolation="inline")
    results = execute_group(group, ctx)
    assert [r.status for r in results] == ["ok", "ok"]
    for r in results:
        assert r.memory is None
        [why] = [f for f in r.flags if f.kind == "memory_failed"]
        assert why.detail.startswith("isolation = inline: the interleaved group shared the run's process")
