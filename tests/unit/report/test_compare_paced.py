"""`bench compare --metric paced` (suite/report/compare.py): the calls at a fixed rate compared between two
runs, the same statistics as latency; runs without --rate, or at different rates, are refused or set apart."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.errors import BenchError
from suite.report.compare import compare_runs
from suite.results.io import save_results
from suite.results.schema import PacedResult
from tests.console_script import installed_bench, usage_error
from tests.report_builders import case, run, steady


def paced(median: float, rate: float = 30.0) -> PacedResult:
    samples = steady(median, 40)
    return PacedResult(method="t", rate_hz=rate, period_ms=1e3 / rate, starts_ms=[i * 1e3 / rate for i in range(40)],
                       samples_ms=samples, missed=0, idle_gaps=39, median_ms=median, median_ci_low_ms=median,
                       median_ci_high_ms=median, p99_ms=median)


def test_paced_calls_twice_as_slow_are_a_regression_whatever_back_to_back_says() -> None:
    base = run([case("resnet18", 1, steady(5.0), paced=paced(10.0))])
    cand = run([case("resnet18", 1, steady(5.0), paced=paced(20.0))])
    res = compare_runs(base, cand, metric="paced")
    change = res.changes[0]
    assert change.verdict == "regression" and change.ratio == pytest.approx(2.0) and change.unit == "ms"
    assert (change.baseline, change.candidate) == pytest.approx((10.0, 20.0))
    assert compare_runs(base, cand, metric="latency").changes[0].verdict != "regression"


def test_different_rates_are_not_comparable_and_no_rate_is_refused() -> None:
    base = run([case("resnet18", 1, steady(5.0), paced=paced(10.0, 30))])
    other = run([case("resnet18", 1, steady(5.0), paced=paced(10.0, 10))])
    change = compare_runs(base, other, metric="paced").changes[0]
    assert change.verdict == "not comparable" and "different rates (30 vs 10" in change.notes[-1]
    with pytest.raises(BenchError, match="no paced calls"):
        compare_runs(base, run([case("resnet18", 1, steady(5.0))]), metric="paced")


def test_the_installed_command_refuses_paced_without_a_rate(tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    save_results(run([case("resnet18", 1, steady(5.0))]), a)
    save_results(run([case("resnet18", 1, steady(5.0))]), b)
    text = usage_error(installed_bench("compare", str(a), str(b), "--metric", "paced"))
    assert "no paced calls" in text
