"""suite.cli.verify_command: `bench verify`'s refusals before anything runs, and its verdict table
with counts derived by hand (2 of 3 within 5%)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from suite.cli import verify_command
from suite.cli.console import stdout_console
from suite.run.verify import Verdict, VerifyReport


def test_a_missing_file_and_a_zero_sample_are_refused(app_of, tmp_path):
    from suite.errors import BenchError

    runner = CliRunner()
    res = runner.invoke(app_of(verify_command), ["verify", str(tmp_path / "none.json")])
    assert isinstance(res.exception, BenchError) and "No results file at" in str(res.exception)
    (tmp_path / "r.json").write_text("{}")
    res = runner.invoke(app_of(verify_command), ["verify", str(tmp_path / "r.json"), "--sample", "0"])
    assert isinstance(res.exception, BenchError) and "--sample must be at least 1 (got 0)" in str(res.exception)


def test_the_verdict_table_counts_by_hand(capsys, tmp_path):
    def v(new: float | None, error: str | None = None) -> Verdict:
        return Verdict(case_id="x", label="m [eager] b=1", stored_median_ms=10.0, ci_low_ms=9.8, ci_high_ms=10.2,
                       new_median_ms=new, tolerance=0.05, error=error)

    report = VerifyReport(run_id="r1", source=Path("r.json"), rerun_path=tmp_path / "again.json",
                          verdicts=[v(10.1), v(10.4), v(None, "failed: crash")])
    verify_command._print(stdout_console(), report, kept=True)
    out = capsys.readouterr().out
    assert "2 of 3 within ±5%, 1 of 3 inside the stored CI." in out
    assert f"Re-run saved in {tmp_path / 'again.json'}" in out and "does not replicate" in out
    assert "+4.0%" in out and "failed: crash" in out
