"""suite.cli.report_commands: `bench report` and `bench compare` as functions (the commands a
Typer app registers). Their printed counts are held against the files read with json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from suite.cli import report_commands

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"


def test_report_called_as_a_function_writes_and_counts(tmp_path, capsys):
    files = [FIX / "rpi5.json", FIX / "jetson-orin.json"]
    report_commands.report(files, output=tmp_path / "out" / "r.html", formats=["html", "md"], no_figures=True)
    out = capsys.readouterr().out
    cases = sum(len(json.loads(f.read_text())["cases"]) for f in files)
    assert f"Read 2 results files: 2 device(s), {cases} case(s)." in out
    assert (tmp_path / "out" / "r.html").is_file() and (tmp_path / "out" / "r.md").is_file()
    assert not (tmp_path / "out" / "r-figures").exists()


def test_a_bad_format_is_exit_2_with_one_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        report_commands.report([FIX / "rpi5.json"], output=tmp_path / "r.html", formats=["pdf"], no_figures=True)
    assert exc.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_compare_gates_on_a_regression(app_of):
    runner = CliRunner()
    app = app_of(report_commands)
    res = runner.invoke(app, ["compare", str(FIX / "regression-base.json"), str(FIX / "regression-cand.json")])
    assert res.exit_code == 1 and "significant regression(s)" in res.stdout
    res = runner.invoke(app, ["compare", str(FIX / "regression-base.json"), str(FIX / "regression-rerun.json")])
    assert res.exit_code == 0
