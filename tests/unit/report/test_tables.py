"""The table model and its writers (suite.report.table): Markdown, CSV, HTML cells, sort keys,
and the checks that catch a column or a cell note naming no field."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import pytest

from suite.report.badges import LATENCY, STATUS, Flag
from suite.report.format import fmt_ms
from suite.report.table import (
    Column,
    Row,
    Table,
    interval_text,
    md_escape,
    plain_text,
    sort_key,
)

VAR = Flag("high_variance", "VAR", "high variance", "CV 25%", "warn", frozenset({LATENCY}))
PARITY = Flag("parity_failed", "PARITY", "parity failed", "ort differs", "bad", frozenset({LATENCY, STATUS}))


@dataclass(frozen=True)
class R:
    name: str
    median_ms: float | None
    ci_ms: tuple[float, float] | None
    ok: bool | None
    status: str = "ok"


COLS = [
    Column("name", "Name"),
    Column("status", "Status", slot=STATUS, restates=frozenset({"parity_failed"})),
    Column("median_ms", "Median", "ms", numeric=True, fmt=fmt_ms, slot=LATENCY, measure=True),
    Column("ci_ms", "95% CI", "ms", numeric=True, fmt=interval_text(fmt_ms)),
    Column("ok", "OK"),
    Column("hidden", "Hidden", md=False, html=False, get=lambda r: len(r.name)),
    Column("web_only", "Web only", csv=False, md=False, get=lambda r: "w"),
]


def table(rows: list[Row[R]], **kw) -> Table[R]:
    return Table("t", "A | table", COLS, rows, **kw)


def _csv(t: Table) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(t.to_csv())))


def test_markdown_escapes_cells_and_shows_units_groups_and_flags():
    t = table([Row(R("a|b <i>x</i>\nnext", 12.345, (11.0, 13.5), True), flags=[VAR]),
               Row(R("plain", None, None, None))],
              caption="Caption with a | pipe", groups=[("", 2), ("Latency", 2)])
    lines = t.to_markdown(3).splitlines()
    assert lines[0] == "### A \\| table"
    assert lines[2] == "Caption with a \\| pipe"
    # Markdown leaves out the md=False columns; the groups span the HTML columns
    assert lines[4] == "| Name | Status | Latency: Median (ms) | Latency: 95% CI (ms) | OK |"
    assert lines[5] == "|---|---|---:|---:|---|"
    assert lines[6] == "| a\\|b &lt;i&gt;x&lt;/i&gt; next | ok | 12.3 \u26a0VAR | \\[11.0, 13.5\\] | yes |"  # brackets escaped: no link can form
    assert lines[7] == "| plain | ok | \u2013 | \u2013 | \u2013 |"
    assert lines[-1] == "Flags: \u26a0VAR = high variance"


def test_markdown_of_an_empty_table_says_none():
    assert table([]).to_markdown() == "## A \\| table\n\n(none)\n"


def test_md_escape():
    assert md_escape("a\\b|c<d>e\nf") == "a\\\\b\\|c&lt;d&gt;e f"


def test_csv_holds_raw_values_with_intervals_split_and_flags():
    t = table([Row(R("=cmd()", 0.1 + 0.2, (1.0, 2.5), False), flags=[VAR, PARITY]),
               Row(R("-1.5", None, None, None))])
    rows = _csv(t)
    assert list(rows[0]) == ["name", "status", "median_ms", "ci_ms_low", "ci_ms_high", "ok", "hidden", "flags"]
    first, second = rows
    assert first["median_ms"] == "0.30000000000000004"  # full precision, not the 0.3 on the page
    assert (first["ci_ms_low"], first["ci_ms_high"]) == ("1.0", "2.5")
    assert first["ok"] == "false" and first["hidden"] == "6"
    assert first["name"] == "'=cmd()"  # a spreadsheet must not run it
    assert first["flags"] == "VAR: CV 25%; PARITY: ort differs"
    assert second["name"] == "-1.5"  # a number stays a number
    assert second["median_ms"] == second["ci_ms_low"] == second["ok"] == second["flags"] == ""


def test_csv_value_replaces_the_raw_value_and_keeps_the_column_whole():
    # a (ratio, significant) pair: one CSV column with the bare ratio, not ratio_low/ratio_high
    cols = [Column("ratio", "Ratio", csv_value=lambda v: v[0],
                   get=lambda r: None if r.median_ms is None else (r.median_ms, True))]
    t = Table("t", "t", cols, [Row(R("a", 0.75, None, None)), Row(R("b", None, None, None))])
    assert t.to_csv() == "ratio,flags\n0.75,\n,\n"


def test_sort_keys():
    assert sort_key(None) == ""
    assert sort_key(True) == "1" and sort_key(False) == "0"
    assert sort_key(3) == "3.0" and sort_key(2.5) == "2.5"
    assert sort_key((0.8, True)) == "0.8"
    assert sort_key("abc") == "abc"


def test_html_cells_text_sort_links_flags_and_strike_through():
    row = Row(R("m", 12.345, (11.0, 13.5), True, status="parity failed"), flags=[PARITY, VAR],
              links={"name": "#m"}, titles={"median_ms": "mean 12.4 ms"})
    t = table([row])
    assert [c.key for c in t.html_columns] == ["name", "status", "median_ms", "ci_ms", "ok", "web_only"]
    cells = {c.title: cell for c, cell in zip(t.html_columns, t.cells(row))}
    name, status, median = cells["Name"], cells["Status"], cells["Median"]
    assert name.href == "#m" and name.text == "m" and name.flags == [] and name.css == ""
    # the status already says "parity failed": the badge would say it twice, the colour stays
    assert status.text == "parity failed" and status.flags == [] and status.css == "cell-bad"
    assert median.text == "12.3" and median.sort == "12.345" and median.title == "mean 12.4 ms"
    assert median.flags == [PARITY, VAR] and median.css == "num cell-bad struck"
    assert cells["95% CI"].css == "num" and cells["95% CI"].sort == "11.0"  # not a measure: not struck


def test_plain_text():
    assert [plain_text(v) for v in (None, "", True, False, 1234.5, 7, "x")] == [
        "\u2013", "\u2013", "yes", "no", "1,234", "7", "x"]


def test_a_column_or_note_naming_no_field_fails_when_the_table_is_built():
    with pytest.raises(ValueError, match="R has no field medain_ms"):
        Table("t", "t", [Column("medain_ms", "Median")], [Row(R("a", 1.0, None, None))])
    with pytest.raises(ValueError, match="no column nmae"):
        table([Row(R("a", 1.0, None, None), links={"nmae": "#a"})])
    with pytest.raises(ValueError, match="share a key"):
        Table("t", "t", [Column("name", "A"), Column("name", "B")], [])
