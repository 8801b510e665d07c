"""The report's profile view: eager and ORT side by side per operator family, what got fused away,
the explanations, and the Markdown/CSV tables, checked against the results file read directly."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from suite.report.html import render_report
from suite.report.profile_explain import (
    fusion_explanation,
    non_gemm_explanation,
    non_gemm_share,
    roof_fraction,
)
from suite.results.io import load_results
from suite.results.schema import OpProfile, ProfileResult

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results" / "profiled-x86.json"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("profile-report") / "report.html"
    render_report([(FIX, load_results(FIX))], out)
    return out


def _raw_cases() -> list[dict]:
    return json.loads(FIX.read_text())["cases"]


def test_the_operators_csv_holds_every_profiled_operator_as_stored(rendered):
    rows = list(csv.DictReader((rendered.parent / "report-tables" / "profile-operators.csv").open()))
    expected = [(c["spec"]["model"], c["spec"]["backend"], o["op"], o["family"], o["time_ms"], o["calls"])
                for c in _raw_cases() for o in c["profile"]["ops"]]
    got = [(r["model"], r["backend"], r["op"], r["family"], float(r["time_ms"]), float(r["calls"])) for r in rows]
    assert sorted(got) == sorted(expected)
    assert len(rows) == sum(len(c["profile"]["ops"]) for c in _raw_cases())


def test_the_nodes_csv_holds_each_case_s_slowest_nodes_in_order(rendered):
    rows = list(csv.DictReader((rendered.parent / "report-tables" / "profile-nodes.csv").open()))
    expected = [(c["spec"]["model"], c["spec"]["backend"], i, n["name"], n["time_ms"])
                for c in _raw_cases() for i, n in enumerate(c["profile"]["top_nodes"], start=1)]
    got = [(r["model"], r["backend"], int(r["rank"]), r["node"], float(r["time_ms"])) for r in rows]
    assert sorted(got) == sorted(expected)
    assert all(len(c["profile"]["top_nodes"]) == 10 for c in _raw_cases())


def test_the_side_by_side_table_sums_each_family_and_marks_what_ort_fused_away(rendered):
    (resnet,) = [p for p in (rendered.parent / "report-tables").glob("profile-model-resnet18-*.csv")]
    rows = {r["family"]: r for r in csv.DictReader(resnet.open())}
    raw = {c["spec"]["backend"]: c["profile"] for c in _raw_cases() if c["spec"]["model"] == "resnet18"}
    for backend in ("eager", "ort"):
        for family, row in rows.items():
            ops = [o for o in raw[backend]["ops"] if o["family"] == family]
            want = sum(o["time_ms"] for o in ops)
            assert (float(row[f"{backend}_time_ms"]) if row[f"{backend}_time_ms"] else 0.0) == pytest.approx(want)
    # eager runs batch norm and relu as operators of their own, ORT folds them into its convolutions
    assert "aten::batch_norm ×20" in rows["norm"]["eager_ops"] and rows["norm"]["ort_ops"] == ""
    assert "aten::relu_ ×17" in rows["activation"]["eager_ops"] and rows["activation"]["ort_ops"] == ""
    assert rows["norm"]["fused_away"] == "ort" and rows["activation"]["fused_away"] == "ort"
    assert rows["conv"]["fused_away"] == "" and "×20" in rows["conv"]["ort_ops"]
    # FLOPs of the conv family: the FLOP counter's convolution count for this case
    eager = next(c for c in _raw_cases() if c["spec"]["model"] == "resnet18" and c["spec"]["backend"] == "eager")
    assert int(rows["conv"]["flops"]) == eager["flops"]["by_operator"]["aten.convolution"]


def test_html_and_markdown_carry_the_tables_and_the_explanations(rendered):
    html = rendered.read_text()
    md = rendered.with_suffix(".md").read_text()
    for text in (html, md):
        assert "Where the time went: resnet18" in text and "Where the time went: mobilenet_v3_small" in text
        assert "ort runs no separate norm / activation / elementwise operators" in text
        assert "10 calls profiled in" in text
    assert html.count('<section class="profile"') == 2


def _profile(shares: dict[str, float], calls: dict[str, float] | None = None) -> ProfileResult:
    ops = [OpProfile(op=f"op-{fam}", family=fam, calls=(calls or {}).get(fam, 1), time_ms=10 * s, share=s)
           for fam, s in shares.items()]
    return ProfileResult(profiler="torch.profiler", calls=1, op_time_ms=10.0, wall_ms=10.0, window_s=0.1, ops=ops)


def test_a_profile_dominated_by_non_gemm_ops_is_explained():
    p = _profile({"conv": 0.3, "norm": 0.4, "activation": 0.25, "memory/layout": 0.05})
    assert non_gemm_share(p) == pytest.approx(0.7)
    text = non_gemm_explanation(p)
    assert text.startswith("70% of the operator time goes to operators outside convolutions and matrix products")
    assert "(norm 40%, activation 25%, memory/layout 5%)" in text and "roof" not in text
    far = non_gemm_explanation(p, fraction_of_roof=0.04)
    assert far.startswith("Far below its roof (4% of attainable) and the profile is dominated by non-GEMM ops")
    assert "roof" not in non_gemm_explanation(p, fraction_of_roof=0.6)
    assert non_gemm_explanation(_profile({"conv": 0.8, "norm": 0.2})) is None


def test_the_fraction_of_roof_is_read_defensively():
    assert roof_fraction(SimpleNamespace()) is None  # no roofline field at all
    assert roof_fraction(SimpleNamespace(roofline=None)) is None
    assert roof_fraction(SimpleNamespace(roofline=SimpleNamespace(achieved_flops_s=1.0))) is None
    assert roof_fraction(SimpleNamespace(roofline=SimpleNamespace(fraction_of_roof=0.12))) == 0.12


def test_fusion_is_named_with_the_calls_that_disappeared():
    eager = _profile({"conv": 0.6, "norm": 0.25, "activation": 0.15}, {"conv": 20, "norm": 20, "activation": 17})
    ort = _profile({"conv": 1.0}, {"conv": 20})
    text = fusion_explanation(eager, ort, "eager", "ort")
    assert text == ("ort runs no separate norm / activation operators: it fused norm (20 calls), activation "
                    "(17 calls) per forward into its other operators; on eager they took 4 ms per forward.")
    assert fusion_explanation(eager, eager, "eager", "eager") is None


def test_no_fusion_is_claimed_for_operators_of_no_known_family():
    eager = _profile({"conv": 0.9, "other": 0.1}, {"conv": 3, "other": 1})
    assert fusion_explanation(eager, _profile({"conv": 1.0}, {"conv": 3}), "eager", "ort") is None
    one = _profile({"conv": 0.9, "pooling": 0.1}, {"conv": 3, "pooling": 1})
    assert "pooling (1 call) per forward" in fusion_explanation(one, _profile({"conv": 1.0}, {"conv": 3}), "eager", "ort")
