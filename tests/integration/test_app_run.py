"""What a deployed app sees, through the installed `bench` (issue 22): a paced run at a rate, stored,
reported, and compared with back-to-back; cold start on by default; bad flag values refused."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from suite.results.io import load_results
from tests.console_script import installed_bench, usage_error

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
                          "--meter", "estimate", timeout=240)
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


@pytest.mark.parametrize(("value", "words"), [("0", "above 0"), ("10x", "not a rate"), ("-3/s", "not a rate")])
def test_a_bad_rate_is_refused_in_one_paragraph(value: str, words: str) -> None:
    text = usage_error(installed_bench("run", "-m", "digits-cnn-small", f"--rate={value}"))
    assert "--rate" in text and words in text
