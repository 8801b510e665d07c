"""The runner's side of the estimate (suite/run/budget.py): the plan's note, the stop decision, the
estimate stored beside the actual time, and what it learns from earlier results files."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.config.bench_config import validate_config
from suite.plan.sweep import plan_cases
from suite.results.io import save_results
from suite.run.budget import Budget, known_results
from tests.report_builders import case, run, steady


def config(**extra):
    return validate_config({"models": ["digits-cnn-small"], "backends": ["eager"], "batch_sizes": [1, 2],
                            "energy": {"enabled": False}, "app": {"cold_start": False},
                            "timing": {"min_time_s": 1.0, "max_time_s": 3.0}, **extra})


def test_the_note_the_stop_and_the_stored_estimate() -> None:
    cfg = config(budget_s=100.0)
    todo = plan_cases(cfg, 1)
    b = Budget.make(cfg, todo, [], [])
    assert not b.shrunk and b.config is cfg  # 2 cases of about 5 s each fit in 100 s
    assert b.note().startswith("Plan: 2 case(s), about") and "2 from policy bounds); budget 100 s" in b.note()
    assert not b.over([todo[0]])  # never before the first group
    first = b.estimates[todo[0].spec.case_id]
    b.spent_s = 100.0 - first.predicted_s / 2
    assert b.over([todo[1]]) and not Budget.make(config(), todo, [], []).over([todo[1]])  # no budget, no stop
    measured = case("digits-cnn-small", 1, steady(1.0)).model_copy(
        update={"spec": todo[0].spec, "id": todo[0].spec.case_id, "phases_s": {"build": 1.0, "sampling": 2.5}})
    stored = b.with_estimate(measured).estimate
    assert stored is not None and stored.actual_s == 3.5 and stored.predicted_s == pytest.approx(first.predicted_s)
    assert stored.ratio == pytest.approx(3.5 / first.predicted_s) and stored.budget_s == 100.0


def test_a_tight_budget_shrinks_the_policy_the_run_uses() -> None:
    cfg = config(budget_s=6.0)
    b = Budget.make(cfg, plan_cases(cfg, 1), [], [])
    assert b.shrunk and b.config.timing.max_time_s < 3.0 and b.config.timing.min_iters == cfg.timing.min_iters
    assert len(b.warnings()) == 1 and "lose precision" in b.warnings()[0]


def test_earlier_results_files_are_read_and_broken_ones_skipped(tmp_path: Path) -> None:
    save_results(run([case("resnet18", 1, steady(2.0))]), tmp_path / "results-1.json")
    (tmp_path / "results-2.json").write_text("{not json")
    got = known_results(tmp_path, [])
    assert [c.spec.model for c in got] == ["resnet18"]
