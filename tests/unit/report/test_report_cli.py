"""`bench report` on the command line: where files went and what is in them, bad files named,
exit status, help text."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import click
import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from suite.report.format import fmt_ms
from suite.report.table import md_escape  # its escaping is tested in test_tables.py

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"

CaseKey = tuple[str, str, int, float | None]  # model, backend, batch size, input size


def _fixture_cases(name: str) -> dict[CaseKey, dict]:
    doc = json.loads((FIX / name).read_text(encoding="utf-8"))
    out = {(c["spec"]["model"], c["spec"]["backend"], c["spec"]["batch_size"], c["spec"]["input_size"]): c
           for c in doc["cases"]}
    assert len(out) == len(doc["cases"])
    return out


def _md_rows(text: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table in `text`, by column title (cells split on unescaped pipes)."""
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    def cells(ln: str) -> list[str]:
        return [c.strip() for c in re.split(r"(?<!\\)\|", ln.strip()[1:-1])]
    header = cells(lines[0])
    assert set(lines[1]) <= set("|-:")
    return [dict(zip(header, cells(ln), strict=True)) for ln in lines[2:]]


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
    _check_cases_files(tmp_path / "out" / "report-tables", _fixture_cases("rpi5.json"))
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "truncated.json" in html and "newer.json" in html


def _check_cases_files(tables: Path, cases: dict[CaseKey, dict]) -> None:
    """cases.md: a row per fixture case with its median (recomputed from the samples with numpy);
    cases.csv: the raw stored values, full precision."""
    md = _md_rows((tables / "cases.md").read_text(encoding="utf-8"))
    assert len(md) == len(cases)
    seen = set()
    for row in md:
        matches = [k for k, c in cases.items() if (md_escape(k[0]), k[1], str(k[2])) == (row["Model"], row["Backend"], row["Batch"])
                   and (k[3] is None or f"{k[3]:g}" == row["Size"])]
        assert len(matches) == 1, row
        seen.add(matches[0])
        c = cases[matches[0]]
        assert row["Status"].split(" \u26a0")[0] == c["status"].replace("_", " ")
        if c["latency"] is None or not c["latency"]["samples_ms"]:
            assert row["Median (ms)"].startswith("\u2013")
        else:
            assert row["Median (ms)"].split(" \u26a0")[0] == fmt_ms(float(np.median(c["latency"]["samples_ms"])))
    assert seen == set(cases)

    rows = list(csv.DictReader(io.StringIO((tables / "cases.csv").read_text(encoding="utf-8"))))
    assert len(rows) == len(cases)
    for row in rows:
        size = float(row["input_size"]) if row["input_size"] else None
        c = cases[(row["model"], row["backend"], int(row["batch_size"]), size)]
        lat = c["latency"]
        if lat is None or lat.get("summary") is None:
            assert row["median_ms"] == row["p90_ms"] == ""
            continue
        summary = lat["summary"]
        # the very numbers stored in the file, not rounded for the page
        assert float(row["median_ms"]) == summary["median_ms"]
        assert float(row["p99_ms"]) == summary["p99_ms"]
        assert (float(row["median_ci_ms_low"]), float(row["median_ci_ms_high"])) == (
            summary["median_ci_low_ms"], summary["median_ci_high_ms"])
        assert int(row["samples"]) == len(lat["samples_ms"]) == summary["n"]
        assert float(row["median_ms"]) == pytest.approx(np.median(lat["samples_ms"]), rel=1e-9)


def test_report_formats_are_repeatable(report_cli, tmp_path):
    r = CliRunner().invoke(report_cli, ["report", str(FIX / "xss.json"), "-o", str(tmp_path / "r.html"),
                                 "--format", "csv", "-f", "md"])
    assert r.exit_code == 0, r.output
    assert not (tmp_path / "r.html").exists() and (tmp_path / "r.md").exists()
    assert (tmp_path / "r-figures" / "latency-distributions.png").read_bytes().startswith(b"\x89PNG")
    _check_cases_files(tmp_path / "r-tables", _fixture_cases("xss.json"))
    # the whole report in Markdown: every table, and the figures linked beside it
    md = (tmp_path / "r.md").read_text(encoding="utf-8")
    assert "## All cases" not in md  # the cases go per model there
    assert "## Cross-hardware matrix" in md and "![Latency distributions](r-figures/latency-distributions.png)" in md


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
