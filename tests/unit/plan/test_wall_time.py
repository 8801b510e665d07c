"""The plan's wall-time estimate (suite/plan/wall_time.py): the timed loop's length from the timing policy, by hand;
the three bases in their order; and what a budget does (one shrink factor, never below min_iters calls,
the cases that lose precision named)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from suite.config.bench_config import validate_config
from suite.metrics.latency import TimingPolicy
from suite.plan.wall_time import (
    FIXED_S,
    ROOF_FRACTION,
    CaseEstimate,
    estimate_case,
    fit_budget,
    sampling_s,
)
from suite.plan.sweep import plan_cases
from suite.results.schema import DevicePeaks, FlopStats, RooflineResult
from tests.report_builders import case as built_case
from tests.report_builders import steady

POLICY = TimingPolicy(min_time_s=1.0, max_time_s=10.0, min_iters=10)


def test_the_loop_runs_between_its_bounds_and_never_below_min_iters_calls() -> None:
    assert sampling_s(0.001, POLICY) == 1.0  # fast: the minimum time
    assert sampling_s(0.5, POLICY) == 5.0  # 10 calls of 0.5 s
    assert sampling_s(3.0, POLICY) == 30.0  # 10 calls of 3 s run past the 10 s cap: the loop waits for them
    assert sampling_s(None, POLICY) == 5.5  # unknown: the middle of the bounds


def config(**extra):
    return validate_config({"models": ["digits-cnn-small"], "backends": ["eager"], "timing": POLICY.model_dump(),
                            "energy": {"enabled": False}, "app": {"cold_start": False}, **extra})


def test_a_previous_run_of_the_case_comes_first_then_the_roofline_then_the_bounds() -> None:
    cfg = config()
    planned = plan_cases(cfg, 1)[0]
    spec = planned.spec
    bounds = estimate_case(planned, cfg, [], [])
    assert bounds.basis == "policy bounds" and bounds.call_s is None and bounds.sampling_s == 5.5
    assert bounds.other_s == pytest.approx(sum(FIXED_S[k] for k in ("worker_start", "build", "flops", "warmup",
                                                                    "prepare")))
    # the same model and size in an earlier run, at batch 4: its FLOPs and bytes per item, under the roofs
    other = built_case(spec.model, 4, steady(2.0), size=spec.input_size or 0.0,
                       flops=FlopStats(macs=2_000_000, flops=4_000_000, flops_per_item=1_000_000),
                       roofline=RooflineResult(achieved_flops_s=1.0, arithmetic_intensity=1.0, bytes_moved=800_000,
                                               method="t"))
    roof = DevicePeaks(device="cpu", threads=1, gemm_flops_s=1e9, bandwidth_bytes_s=1e8,
                       measured_at=datetime.now(timezone.utc), duration_s=1.0)
    by_roof = estimate_case(planned, cfg, [roof], [other])
    # batch 1: 1e6 FLOPs / 1e9 FLOP/s = 1 ms; 2e5 bytes / 1e8 B/s = 2 ms: memory-bound, at ROOF_FRACTION
    assert by_roof.basis == "roofline" and by_roof.call_s == pytest.approx(2e-3 / ROOF_FRACTION)
    # the case itself, measured before: its median and its phases around the loop
    before = built_case(spec.model, 1, steady(4.0), size=spec.input_size or 0.0)
    before = before.model_copy(update={"spec": spec, "id": spec.case_id,
                                       "phases_s": {"build": 1.0, "prepare": 2.0, "sampling": 9.0}})
    again = estimate_case(planned, cfg, [roof], [other, before])
    assert again.basis == "previous run" and again.call_s == pytest.approx(4e-3)
    # the loop ran on past min_time_s (1 s) to its CI target: 9 s last time, so 9 s again; the worker
    # start is the usual one (the forkserver is once per run)
    assert again.other_s == pytest.approx(3.0 + FIXED_S["worker_start"]) and again.sampling_s == 9.0
    # never beyond what this run's policy allows (max_time_s 10 s, one backend, 25% for the rounds' settling)
    longer = before.model_copy(update={"phases_s": {"build": 1.0, "prepare": 2.0, "sampling": 40.0}})
    assert estimate_case(planned, cfg, [roof], [longer]).sampling_s == pytest.approx(12.5)
    # nor below what min_iters calls at the measured median take
    shorter = before.model_copy(update={"phases_s": {"build": 1.0, "prepare": 2.0, "sampling": 0.2}})
    assert estimate_case(planned, cfg, [roof], [shorter]).sampling_s == 1.0


def est(label: str, call_s: float | None, other_s: float) -> CaseEstimate:
    return CaseEstimate(label, label, call_s, sampling_s(call_s, POLICY), other_s, "t")


def test_a_budget_shrinks_every_loop_by_one_factor_and_names_who_loses() -> None:
    cases = [est("fast", 0.001, 2.0), est("slow", 0.5, 2.0)]  # loops 1 s and 5 s, 4 s around them: 10 s
    assert fit_budget(cases, POLICY, 20.0).fits and fit_budget(cases, POLICY, 20.0).lose_precision == []
    plan = fit_budget(cases, POLICY, 7.0)  # 3 s of loops left for 6 s of them: factor 1/2
    assert plan.timing.max_time_s == pytest.approx(5.0) and plan.timing.min_time_s == pytest.approx(0.5)
    assert plan.timing.min_iters == 10  # the statistics' minimum stays
    assert [e.sampling_s for e in plan.estimates] == pytest.approx([0.5, 5.0])  # 10 calls of 0.5 s cannot shrink
    assert plan.lose_precision == ["fast"] and not plan.fits  # 0.5 + 5 + 4 > 7: the runner stops at the budget


def test_a_budget_below_what_surrounds_the_loops_floors_them() -> None:
    plan = fit_budget([est("a", None, 5.0)], POLICY, 3.0)
    assert plan.timing.max_time_s == 0.05 and not plan.fits and plan.lose_precision == ["a"]


def test_repeats_run_the_loop_once_per_process() -> None:
    cfg = config(repeats=3)
    planned = plan_cases(cfg, 1)[0]
    one, three = estimate_case(planned, config(), [], []), estimate_case(planned, cfg, [], [])
    assert three.sampling_s == pytest.approx(3 * one.sampling_s)
    assert three.other_s == pytest.approx(one.other_s + 2 * FIXED_S["worker_start"])
