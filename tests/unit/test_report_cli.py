"""`bench report` on the command line: where files went, bad files named, exit status, help text."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
import typer
from typer.testing import CliRunner


FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results"


def test_report_names_bad_files_and_renders_the_rest(report_cli, tmp_path):
    r = CliRunner().invoke(report_cli, ["report", str(FIX / "rpi5.json"), str(FIX / "bad"), "-o", str(tmp_path / "out"),
                                 "--no-figures"])
    assert r.exit_code == 0, r.output
    out = r.output
    assert "skipped" in out and "truncated.json: truncated" in out
    assert "foreign.json: not a bench results file" in out and "newer.json: schema version 99" in out
    assert "Read 1 results file: 1 device(s), 40 case(s)." in out
    assert f"HTML      {tmp_path / 'out' / 'report.html'}" in out
    assert (tmp_path / "out" / "report.html").exists() and (tmp_path / "out" / "report.md").exists()
    assert "(8 CSV, 8 Markdown)" in out
    assert not (tmp_path / "out" / "report-figures").exists()


def test_report_formats_are_repeatable(report_cli, tmp_path):
    r = CliRunner().invoke(report_cli, ["report", str(FIX / "xss.json"), "-o", str(tmp_path / "r.html"),
                                 "--format", "csv", "-f", "md"])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "r.html").exists() and (tmp_path / "r.md").exists()
    assert (tmp_path / "r-tables" / "cases.csv").exists() and (tmp_path / "r-figures" / "latency-distributions.png").exists()


@pytest.mark.parametrize("args,message", [
    (["bad"], "None of the results files could be read"),
    (["rpi5.json", "--format", "pdf"], "Unknown report format 'pdf'"),
    (["does-not-exist.json"], "no such file"),
])
def test_report_exit_2_when_nothing_renders(report_cli, tmp_path, args, message):
    argv = ["report"] + [str(FIX / a) if not a.startswith("-") and a != "pdf" else a for a in args]
    r = CliRunner().invoke(report_cli, argv + ["-o", str(tmp_path / "r.html")])
    assert r.exit_code == 2, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "r.html").exists()


def test_every_command_and_option_has_help(report_cli):
    group = typer.main.get_command(report_cli)
    assert set(group.commands) == {"report", "compare"}
    for name, cmd in group.commands.items():
        assert cmd.help and len(cmd.help) > 40, name
        for p in cmd.params:
            if isinstance(p, click.Option) and p.name != "help":
                assert p.help, f"{name} --{p.name} has no help"
            if isinstance(p, click.Argument):
                assert getattr(p, "help", None), f"{name} {p.name} has no help"
