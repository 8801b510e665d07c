"""suite.cli.audit_command: `bench audit`'s verdict table from a stored audit, each figure derived
here by hand from the audit's medians (statistics.median, the ratios pair by pair), and its
option bounds refused before anything runs."""

from __future__ import annotations

import statistics
from datetime import datetime, timezone
from pathlib import Path

from typer.testing import CliRunner

from suite.cli import audit_command
from suite.cli.console import stdout_console
from suite.results.schema import AuditCase, FairnessAudit


def _audit() -> FairnessAudit:
    cases = [AuditCase(model="resnet18", backend="eager", batch_size=1, interleaved_ms=[20.0, 21.0, 20.5],
                       alone_ms=[20.2, 20.8, 20.4], bare_ms=[19.9, 20.1, 20.0]),
             AuditCase(model="resnet18", backend="ort", batch_size=1, interleaved_ms=[9.0, 9.6, 9.3],
                       alone_ms=[7.0, 7.1, 7.2], bare_ms=[7.05, 7.0, 7.1])]
    return FairnessAudit(measured_at=datetime(2026, 1, 1, tzinfo=timezone.utc), threads=2, pairs=3, tolerance=0.07,
                         duration_s=100.0, method="m", cases=cases)


def test_the_table_shows_each_modes_median_and_the_ratios_by_hand(capsys):
    audit = _audit()
    audit_command._print(stdout_console(), audit, Path("/cache/audits"))
    out = capsys.readouterr().out
    ort = audit.cases[1]
    for values in (ort.interleaved_ms, ort.alone_ms, ort.bare_ms):
        assert f"{statistics.median(values):.3g}" in out
    # interleaved / alone, pair by pair: 9.0/7.0, 9.6/7.1, 9.3/7.2
    ratios = [a / b for a, b in zip(ort.interleaved_ms, ort.alone_ms)]
    assert f"{statistics.median(ratios):.3f} [{min(ratios):.3f}-{max(ratios):.3f}]" in out
    assert "not fair" in out  # ~1.3, far past the 7% tolerance
    assert "Kept in /cache/audits: every later bench run here at 2 thread(s) carries it" in " ".join(out.split())


def test_options_out_of_bounds_are_refused_before_anything_runs(app_of):
    runner = CliRunner()
    for args in (["--pairs", "0"], ["--tolerance", "0.9"], ["--min-time", "0"], ["--threads", "0"]):
        res = runner.invoke(app_of(audit_command), ["audit", *args])
        assert res.exit_code == 2, (args, res.stdout)


def test_the_cores_round_trips_are_printed_and_a_move_turns_the_verdict(capsys):
    audit = _audit().model_copy(update={"core_round_trip_ns": [181.0, 372.5, 180.0, 179.0]})
    audit_command._print(stdout_console(), audit, Path("/cache/audits"))
    out = " ".join(capsys.readouterr().out.split())
    assert "Cores' round trip before each mode and after the last, ns: 181, 372, 180, 179 (moved: see below)" in out
    assert "round trip moved between 179 and 372 ns during the audit" in out and "not fair" not in out
