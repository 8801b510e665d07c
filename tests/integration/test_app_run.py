"""What a deployed app sees, through the installed `bench` (issue 22): a paced run at a rate, stored,
reported, and compared with back-to-back; cold start on by default; a sustained run on a fake board
(tests/sustained_fake.py) stopped at its temperature limit and reported; bad flag values refused."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from suite.results.io import load_results
from tests.console_script import installed_bench, usage_error
from tests.sustained_fake import fake_pi

FAST = """
[app]
paced_window_s = 1.0
[timing]
min_time_s = 0.2
max_time_s = 0.5
warmup_max = 10
[energy]
min_window_s = 0.5
"""


def test_a_paced_run_holds_its_rate_and_reports_energy_per_frame(tmp_path: Path) -> None:
    cfg = tmp_path / "fast.toml"
    cfg.write_text(FAST)
    out = tmp_path / "paced.json"
    res = installed_bench("run", "-c", str(cfg), "-m", "digits-cnn-small", "--backends", "ort", "-b", "1",
                          "--threads", "1", "--rate", "40/s", "--no-peaks", "--no-report", "-o", str(out),
                          "--meter", "estimate", timeout=240,
                          env_extra={"BENCH_COLD_START": "1"})  # the suite's default (tests/conftest.py sets 0)
    assert res.returncode == 0, res.stderr
    case = load_results(out).cases[0]
    p = case.paced
    assert p is not None and p.rate_hz == 40 and len(p.starts_ms) == 40
    achieved, bound = p.achieved_period_ms, p.period_error_bound_ms
    assert achieved is not None and bound is not None
    assert abs(achieved / 25.0 - 1) < 0.02 and abs(achieved - 25.0) <= bound + 1e-9
    assert p.idle_gaps >= 0.8 * 39 and p.missed <= 2  # a 9 µs model at a 25 ms period: idle almost always
    assert p.vs_back_to_back is not None and p.vs_back_to_back_ci is not None
    lo, hi = p.vs_back_to_back_ci
    assert lo <= p.vs_back_to_back <= hi
    e = p.energy
    assert e is not None and e.method == "estimated"  # no power meter here: labelled an estimate
    assert e.frames >= 20 and e.gross_j_per_frame == pytest.approx(e.gross_j / e.frames)
    if e.idle_j_per_frame is not None and e.active_j_per_frame is not None:
        assert e.idle_j_per_frame + e.active_j_per_frame == pytest.approx(e.gross_j_per_frame)
    assert case.cold_start is not None and case.cold_start.imported == ["onnxruntime"]  # on by default
    rep = installed_bench("report", str(out), "-o", str(tmp_path / "rep"), "--no-figures", timeout=120)
    assert rep.returncode == 0, rep.stderr
    rows = list(csv.DictReader((tmp_path / "rep" / "report-tables" / "paced.csv").open()))
    assert len(rows) == 1 and float(rows[0]["achieved_period_ms"]) == pytest.approx(achieved)
    assert (tmp_path / "rep" / "report-tables" / "cold-start.csv").is_file()


def test_a_sustained_run_stops_at_the_temperature_limit_and_is_reported(tmp_path: Path) -> None:
    root = fake_pi(tmp_path / "pi", temp_c=72.0)  # already past the limit: the first window is the last
    cfg = tmp_path / "sustain.toml"
    cfg.write_text(FAST.replace("[app]", "[app]\nsustain_window_s = 0.5") + f'[monitor]\nsysfs_root = "{root}"\n')
    out = tmp_path / "sustain.json"
    res = installed_bench("run", "-c", str(cfg), "-m", "digits-cnn-small", "--backends", "ort", "-b", "1",
                          "--threads", "1", "--sustain", "1m", "--temp-limit", "70", "--no-peaks", "--no-report",
                          "--no-energy", "--no-cold-start", "-o", str(out), timeout=240)
    assert res.returncode == 0, res.stderr
    case = load_results(out).cases[0]
    s = case.sustained
    assert s is not None and s.duration_s == 60 and s.temp_limit_c == 70
    assert len(s.windows) == 1 and 0.5 <= s.ran_s < 2.0  # stopped at the first window's end, not after a minute
    assert s.stopped_early is not None and "72.0 °C" in s.stopped_early
    assert s.windows[0].cpu_temp_c == 72.0 and s.windows[0].cpu_clock_mhz == 1800 and s.windows[0].throttled is None
    assert "stopped_early" in {f.kind for f in case.flags}
    rep = installed_bench("report", str(out), "-o", str(tmp_path / "rep"), timeout=180)
    assert rep.returncode == 0, rep.stderr
    rows = list(csv.DictReader((tmp_path / "rep" / "report-tables" / "sustained.csv").open()))
    assert len(rows) == 1 and rows[0]["stopped_early"] == s.stopped_early
    assert (tmp_path / "rep" / "report-figures" / "sustained-timeline.svg").is_file()
    assert "Sustained load" in (tmp_path / "rep" / "report.html").read_text()


@pytest.mark.parametrize(("flag", "value", "words"), [
    ("--rate", "0", "above 0"), ("--rate", "10x", "not a rate"), ("--rate", "-3/s", "not a rate"),
    ("--sustain", "10x", "not a duration"), ("--sustain", "0s", "above 0"),
    ("--temp-limit", "hot", "not a temperature"), ("--temp-limit", "200", "between 0 and 150"),
    ("--budget", "0", "above 0"), ("--budget", "20x", "not a duration"),
])
def test_a_bad_value_is_refused_in_one_paragraph(flag: str, value: str, words: str) -> None:
    text = usage_error(installed_bench("run", "-m", "digits-cnn-small", f"{flag}={value}"))
    assert flag in text and words in text


def test_a_temperature_limit_without_a_sustained_run_is_refused() -> None:
    text = usage_error(installed_bench("run", "-m", "digits-cnn-small", "--temp-limit", "80"))
    assert "--temp-limit" in text and "--sustain" in text


def test_a_budget_stops_before_the_case_that_would_pass_it_and_resume_runs_the_rest(tmp_path: Path) -> None:
    cfg = tmp_path / "fast.toml"
    cfg.write_text(FAST)
    out = tmp_path / "budget.json"
    args = ("-m", "digits-cnn-small", "--backends", "eager", "--threads", "1", "--no-peaks", "--no-report",
            "--no-energy", "--no-cold-start")
    res = installed_bench("run", "-c", str(cfg), *args, "-b", "1,2,4", "--budget", "1s", "-o", str(out), timeout=240)
    assert res.returncode == 0, res.stderr
    text = " ".join((res.stdout + res.stderr).split())
    assert "Plan: 3 case(s), about" in text and "budget 1 s" in text
    assert "--budget 1 s reached" in text and "2 case(s) left" in text and "bench run --resume" in text
    run = load_results(out)
    assert run.interrupted and run.finished_at is None and [c.spec.batch_size for c in run.cases] == [1]
    assert run.cases[0].cold_start is None  # --no-cold-start
    e = run.cases[0].estimate
    assert e is not None and e.budget_s == 1.0 and e.timing_shrunk and e.basis == "policy bounds"
    assert e.actual_s == pytest.approx(sum((run.cases[0].phases_s or {}).values()))
    for ran in ([1, 2], [1, 2, 4]):  # the saved budget holds for each session: one more case each time
        again = installed_bench("run", "--resume", str(out), timeout=240)
        assert again.returncode == 0, again.stderr
        done = load_results(out)
        assert [c.spec.batch_size for c in done.cases] == ran
    assert done.finished_at is not None and not done.interrupted
    # the resumed cases ran under the shrunk policy the file holds, and learnt from the first case
    assert all(c.estimate is not None for c in done.cases)
