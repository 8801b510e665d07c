"""A results file is data: hostile strings in it (terminal escapes, bidi overrides, HTML,
Markdown links, spreadsheet formulas) reach no output raw, neither `bench compare` on the
terminal nor `bench report`'s HTML, Markdown, CSV and figures.

One deterministic case goes through the installed console script; a hypothesis fuzz puts
generated hostile strings in every free string field and runs the same commands in-process
(bounded: a few dozen examples)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"

# Values the schema constrains (timestamps, enums, the format tag) and case ids (recomputed).
_FIXED_KEYS = {"format", "created_at", "finished_at", "started_at", "status", "method", "id", "baseline_case",
               "candidate_case", "severity", "metrics", "kind"}

HOSTILE = ("\x1b[31mRED\x1b]0;pwned\x07 \u202egnp.exe <script>alert(1)</script> [x](javascript:alert(1)) "
           "=cmd|' /C calc'!A0 \r\x9b2J &#x202e; |pipe| \u2066iso\u2069 \x00nul")

# Characters no output may carry raw (newline and tab are fine).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")
_MD_LINK = re.compile(r"(?<!\\)\](?!\(report-figures/)\(")  # "](" not escaped: a link (ours: the figures)


def hostile_results(tmp: Path, text_for: Callable[[int, str], str]) -> tuple[Path, Path]:
    """regression-base.json and regression-cand.json with every free string replaced by
    `text_for(i, original)` (the same original gets the same text in both files, so cases still
    match), a flag and a failure carrying text too; case ids recomputed."""
    from suite.results.io import save_results
    from suite.results.schema import CaseSpec, RunResult

    docs = [json.loads((FIX / n).read_text(encoding="utf-8")) for n in ("regression-base.json", "regression-cand.json")]
    originals: dict[str, str] = {}

    def visit(o):
        if isinstance(o, dict):
            return {k: (v if k in _FIXED_KEYS else visit(v)) for k, v in o.items()}
        if isinstance(o, list):
            return [visit(v) for v in o]
        if isinstance(o, str):
            if o not in originals:
                originals[o] = text_for(len(originals), o)
            return originals[o]
        return o

    out = []
    for n, doc in enumerate(docs):
        doc = visit(doc)
        last = doc["cases"][-1]
        last["flags"] = [*last.get("flags", []), {"kind": "backend_note", "severity": "warn", "metrics": ["case"],
                                                   "detail": text_for(9000, "flag")}]
        if n == 1:
            last["status"] = "failed"
            last["error"] = {"kind": "exception", "message": text_for(9001, "error"),
                             "traceback": text_for(9002, "tb")}
        # New strings in a spec make a new case id: recompute them before the file is validated
        # (a loaded file must hold its specs' ids).
        renamed = {}
        for case in doc["cases"]:
            new = CaseSpec.model_validate(case["spec"]).case_id
            renamed[case["id"]] = new
            case["id"] = new
        for comp in doc.get("comparisons", []):
            comp["baseline_case"] = renamed.get(comp["baseline_case"], comp["baseline_case"])
            comp["candidate_case"] = renamed.get(comp["candidate_case"], comp["candidate_case"])
        run = RunResult.model_validate(doc)
        path = tmp / f"{'base' if n == 0 else 'cand'}.json"
        save_results(run, path)
        out.append(path)
    return out[0], out[1]


def assert_inert(name: str, text: str, hostile: list[str]) -> None:
    bad = _CONTROL.search(text)
    assert bad is None, f"{name}: raw {bad.group()!r} at {bad.start()}: {text[max(0, bad.start() - 60):bad.start() + 20]!r}"
    if name.endswith(".md"):
        link = _MD_LINK.search(text)
        assert link is None, f"{name}: Markdown link at {text[max(0, link.start() - 60):link.start() + 30]!r}"
    if name.endswith((".html", ".svg", ".md")):
        assert "<script>alert" not in text, name
    if name.endswith(".csv"):
        for line in text.splitlines():
            for cell in line.split(","):
                assert not cell.lstrip('"').startswith(("=cmd", "@", "+cmd")), (name, cell)


def report_files(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): p.read_text(encoding="utf-8") for p in sorted(out.rglob("*"))
            if p.is_file() and p.suffix in (".html", ".md", ".csv", ".svg")}


def test_hostile_strings_reach_no_output_raw_through_the_console_script(tmp_path):
    base, cand = hostile_results(tmp_path, lambda i, _o: f"{HOSTILE} #{i}")
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="300")
    bench = [sys.executable, "-m", "suite"]
    res = subprocess.run([*bench, "compare", str(base), str(cand)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert res.returncode in (0, 1), res.stderr
    assert "gnp.exe" in res.stdout  # the strings are shown...
    assert_inert("compare stdout", res.stdout + res.stderr, [HOSTILE])  # ...but inert
    assert "\\x1b[31mRED" in res.stdout and "\\u202egnp.exe" in res.stdout  # as visible escapes

    out = tmp_path / "report"
    res = subprocess.run([*bench, "report", str(base), str(cand), "-o", str(out)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert res.returncode == 0, res.stderr
    assert_inert("report stdout", res.stdout + res.stderr, [HOSTILE])
    files = report_files(out)
    assert any(n.endswith(".svg") for n in files) and any(n.endswith(".csv") for n in files)
    for name, text in files.items():
        assert_inert(name, text, [HOSTILE])
    assert "\\u202egnp.exe" in files["report.md"]


# ----------------------------------------------------------------------------- fuzz

_PIECES = ["\x1b[31m", "\x1b]8;;http://evil\x1b\\", "\x1b[2J", "\x07", "\r", "\x08", "\x9b", "\x00", "\x7f",
           "\u202e", "\u202d", "\u2066", "\u200f", "\u061c", "\u2028", "<script>alert(1)</script>",
           "<img src=x onerror=alert(1)>", "[x](javascript:alert(1))", "![i](http://evil/x.png)",
           "<javascript:alert(1)>", "&#x202e;", "|", "\\", "`", "*", "$x$", "=cmd", "@SUM(1)", "+1", "-1+1",
           "{{ 7*7 }}", "%s", "\n", "\t", "[bold]", "[/]"]
_hostile = st.lists(
    st.one_of(st.sampled_from(_PIECES),
              st.text(st.characters(codec="utf-8", categories=["Cc", "Cf", "Zl", "Zp"]), max_size=3),
              st.text(max_size=6)),
    min_size=1, max_size=6).map("".join)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_hostile, min_size=1, max_size=8))
def test_fuzzed_hostile_strings_in_every_field_reach_no_output_raw(report_cli, texts):
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # A suffix keeps different originals different (two backends must not merge into one).
        base, cand = hostile_results(tmp, lambda i, _o: f"{texts[i % len(texts)]}~{i}")
        runner = CliRunner()
        r = runner.invoke(report_cli, ["compare", str(base), str(cand)], catch_exceptions=False)
        assert r.exit_code in (0, 1), r.output
        assert_inert("compare", r.output, texts)
        out = tmp / "out"
        r = runner.invoke(report_cli, ["report", str(base), str(cand), "-o", str(out), "--no-figures"],
                          catch_exceptions=False)
        assert r.exit_code == 0, r.output
        for name, text in report_files(out).items():
            assert_inert(name, text, texts)


def test_neutralize_keeps_what_it_is_told_and_is_idempotent():
    from suite.report.format import neutralize

    assert neutralize("a\x1b[31mb\u202ec\nd\te") == "a\\x1b[31mb\\u202ec\nd\te"
    assert neutralize("a\nb", keep="") == "a\\x0ab"
    assert neutralize(neutralize(HOSTILE)) == neutralize(HOSTILE)
    assert neutralize("\ud800") == "\\ud800"  # a lone surrogate from JSON: no UTF-8 write can fail on it


@pytest.mark.parametrize("text, expected", [
    ("[x](javascript:alert(1))", "\\[x\\](javascript:alert(1))"),
    ("&#x202e;", "&amp;#x202e;"),
    ("a\u202eb|c", "a\\\\u202eb\\|c"),
])
def test_markdown_escaping(text, expected):
    from suite.report.table import md_escape

    assert md_escape(text) == expected
