"""suite.run.verify: does a results file replicate? Verdicts derived by hand (MLPerf Mobile's 5%:
10.5 ms against 10 ms replicates, 10.6 does not), the seeded sample, the saved configuration's
trust rule, and a file from another machine refused before anything runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_builders import case, run

from suite.errors import BenchError
from suite.results.schema import ErrorInfo
from suite.run.verify import (
    DEFAULT_TOLERANCE,
    choose_cases,
    verdict,
    verify_config,
    verify_results,
)

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"
STORED = case("m", 1, [9.0, 9.5, 10.0, 10.5, 11.0] * 6)  # median 10, CI around it


def _new(median: float):
    return case("m", 1, [median] * 7)


@pytest.mark.parametrize("new_median, within, change", [(10.5, True, 0.05), (9.5, True, -0.05), (10.6, False, 0.06),
                                                        (10.0, True, 0.0)])
def test_a_median_within_five_percent_replicates(new_median, within, change):
    v = verdict(STORED, _new(new_median))
    assert v.stored_median_ms == 10.0 and v.tolerance == DEFAULT_TOLERANCE == 0.05
    assert v.change == pytest.approx(change) and v.within_tolerance is within and v.replicates is within
    s = STORED.latency.summary
    assert v.inside_ci == (s.median_ci_low_ms <= new_median <= s.median_ci_high_ms)


def test_a_failed_or_missing_rerun_does_not_replicate_and_says_why():
    failed = case("m", 1, [1.0] * 5, status="failed", error=ErrorInfo(kind="crash", message="worker died"))
    v = verdict(STORED, failed)
    assert v.new_median_ms is None and v.error == "failed: worker died" and not v.replicates and not v.inside_ci
    assert verdict(STORED, None).error == "not re-run"


def test_the_sample_is_seeded_in_file_order_and_only_measured_cases():
    cases = [case(f"m{i}", 1, [1.0 + i] * 5) for i in range(8)]
    cases.insert(3, case("bad", 1, [1.0] * 5, status="failed", error=ErrorInfo(kind="crash", message="x")))
    r = run(cases)
    a, b = choose_cases(r, 3), choose_cases(r, 3)
    assert [c.id for c in a] == [c.id for c in b] and len(a) == 3
    order = [c.id for c in r.cases]
    assert [order.index(c.id) for c in a] == sorted(order.index(c.id) for c in a)
    assert "bad" not in {c.spec.model for c in a}
    assert len(choose_cases(r, 50)) == 8
    with pytest.raises(BenchError, match="no measured case to verify"):
        choose_cases(run([cases[3]]), 1)


def test_a_saved_configuration_that_runs_code_needs_trust(tmp_path):
    r = run([STORED])
    r.config = {"models": [str(tmp_path / "net.py")], "backends": ["eager"]}
    with pytest.raises(BenchError, match=r"imports the Python file .*net.py.*add --trust-config"):
        verify_config(r, tmp_path / "r.json", tmp_path / "out", trust_config=False)
    cfg = verify_config(r, tmp_path / "r.json", tmp_path / "out", trust_config=True)
    assert cfg.output_dir == str(tmp_path / "out") and cfg.report is False and cfg.energy.enabled is False


def test_bad_options_and_another_machines_file_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(BenchError, match="--sample must be at least 1"):
        verify_results(FIX / "rpi5.json", sample=0, output_dir=tmp_path)
    with pytest.raises(BenchError, match="--tolerance is a fraction"):
        verify_results(FIX / "rpi5.json", tolerance=5, output_dir=tmp_path)
    with pytest.raises(BenchError, match=r"Cannot verify .*verify it on the machine that measured it"):
        verify_results(FIX / "rpi5.json", output_dir=tmp_path)
    assert not any(tmp_path.iterdir())
