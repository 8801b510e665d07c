"""The accuracy-vs-efficiency section (Lab 2): the Pareto front on hand-made points, the unit
conversions by hand, and the section rendered from the two-device study fixture, its CSV values
recomputed here from the raw JSON (not through the report's code)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from report_builders import case, run, steady

from suite.report.build import build_report_from_paths
from suite.report.html import render_report
from suite.report.merge import merge_results
from suite.report.study_points import (
    g_to_kg,
    j_to_kwh,
    metric_label,
    pareto_front,
    shown,
    study_points,
)
from suite.results.io import load_results
from suite.results.schema import AccuracyResult

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"
LAB2 = [FIX / "lab2-study.json", FIX / "lab2-study-rpi5.json"]
STUDY_FIGS = ("study-flops-accuracy", "study-latency-accuracy", "study-flops-latency", "study-pareto")


# ----------------------------------------------------------------------------- the Pareto front


def test_pareto_front_on_hand_made_points():
    # (accuracy, cost)
    pts = [(90.0, 1.0), (95.0, 2.0), (93.0, 3.0), (97.0, 5.0), (80.0, 0.5), (96.0, 5.0)]
    # (93, 3) is beaten by (95, 2); (96, 5) by (97, 5): as cheap, strictly more accurate
    assert pareto_front(pts) == [True, True, False, True, True, False]


def test_pareto_front_one_point_none_and_duplicates():
    assert pareto_front([]) == []
    assert pareto_front([(50.0, 10.0)]) == [True]
    # equal points do not dominate each other: both stay on the front
    assert pareto_front([(90.0, 1.0), (90.0, 1.0), (85.0, 2.0)]) == [True, True, False]


def test_pareto_front_ties_on_one_axis():
    # same accuracy: only the cheaper one; same cost: only the more accurate one
    assert pareto_front([(90.0, 1.0), (90.0, 2.0)]) == [True, False]
    assert pareto_front([(90.0, 1.0), (95.0, 1.0)]) == [False, True]


def test_pareto_front_when_lower_is_better():
    # an error rate: the lower and cheaper, the better
    assert pareto_front([(5.0, 1.0), (3.0, 2.0), (6.0, 3.0)], higher_is_better=False) == [True, True, False]


def test_conversions_by_hand():
    assert j_to_kwh(3.6e6) == 1.0
    assert j_to_kwh(7.2) == pytest.approx(2e-6)
    assert j_to_kwh(None) is None
    assert g_to_kg(1500.0) == 1.5
    assert g_to_kg(0.25) == pytest.approx(2.5e-4)


def test_known_fractions_are_percentages_and_other_metrics_as_stored():
    assert shown("top-1", 0.975) == pytest.approx(97.5)
    assert shown("dice", 0.5) == pytest.approx(50.0)
    assert shown("top-1 %", 69.758) == 69.758  # a v1 file's metric, already in percent
    assert shown("evaluate()", 0.3) == 0.3
    assert metric_label("top-5") == "top-5 (%)" and metric_label("top-1 %") == "top-1 %"


# ----------------------------------------------------------------------------- choosing the latency


def _acc(value: float = 0.9, **kw) -> AccuracyResult:
    return AccuracyResult(metric="top-1", value=value, dataset="digits", samples=100, **kw)


def test_one_point_per_pass_and_latency_from_batch_1_else_the_smallest_batch():
    a1 = case("m", 1, steady(2.0), resize="area", accuracy=_acc())
    a8 = case("m", 8, steady(8.0), resize="area", accuracy=_acc(evaluated_in=a1.id))
    # only batch 4 and 8 ran with "nearest": the latency comes from batch 4, per example
    n4 = case("m", 4, steady(6.0), resize="nearest", accuracy=_acc(0.8))
    n8 = case("m", 8, steady(10.0), resize="nearest", accuracy=_acc(0.8, evaluated_in=n4.id))
    study = study_points(merge_results([run([a1, a8, n4, n8])]))
    assert len(study.points) == 2
    area, nearest = sorted(study.points, key=lambda p: p.resize)
    assert (area.latency_batch, area.latency_ms, area.accuracy) == (1, pytest.approx(2.0), pytest.approx(90.0))
    assert (nearest.latency_batch, nearest.latency_ms) == (4, pytest.approx(1.5))
    assert study.latency_batches == [1, 4]
    assert "smallest batch" in study.latency_source_text()


def test_no_accuracy_no_study():
    assert study_points(merge_results([run([case("m", 1, steady(2.0))])])) is None


# ----------------------------------------------------------------------------- the rendered section


@pytest.fixture(scope="module")
def lab2(tmp_path_factory):
    out = tmp_path_factory.mktemp("lab2") / "report.html"
    outcome = build_report_from_paths(LAB2, out)
    raw = [json.loads(p.read_text(encoding="utf-8")) for p in LAB2]
    return outcome.output, out.read_text(encoding="utf-8"), raw


def _csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _section(html: str) -> str:
    m = re.search(r'<section id="accuracy-efficiency">(.*?)</section>', html, flags=re.DOTALL)
    assert m, "no Accuracy vs efficiency section"
    return m.group(1)


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def _batch1(doc: dict) -> dict[tuple, dict]:
    return {(c["spec"]["model"], c["spec"]["input_size"], c["spec"]["resize"], c["spec"]["backend"]): c
            for c in doc["cases"] if c["spec"]["batch_size"] == 1}


def test_section_holds_the_figures_and_tables(lab2):
    out, html, _ = lab2
    sec = _section(html)
    for fid in STUDY_FIGS:
        assert f'id="fig-{fid}"' in sec
        assert f"report-figures/{fid}.png" in sec
    for name in ("study-points", "study-energy", "study-accuracy-changes"):
        assert f'id="table-{name}"' in sec
    assert 'href="#accuracy-efficiency"' in html
    # shown in the section, not again under Figures
    assert html.count('id="fig-study-pareto"') == 1
    names = {p.name for p in out.figures} | {p.name for p in out.tables}
    for fid in STUDY_FIGS:
        assert {f"{fid}.png", f"{fid}.svg"} <= names
    md = out.markdown.read_text(encoding="utf-8")
    assert "## Accuracy vs efficiency" in md and "![FLOPs vs accuracy](report-figures/study-flops-accuracy.png)" in md
    assert "### Energy and carbon per inference" in md
    # the case tables tell apart cases that differ only in their resize method
    cases = _csv(out.html.parent / "report-tables" / "cases.csv")
    assert {r["resize"] for r in cases} == {"area", "nearest"}


def test_points_csv_matches_the_fixture(lab2):
    out, _, raw = lab2
    rows = _csv(out.html.parent / "report-tables" / "study-points.csv")
    md = (out.html.parent / "report-tables" / "study-points.md").read_text(encoding="utf-8")
    # 2 models x 3 sizes x 2 resize methods x 3 backends per device; batch 8 shares the batch-1 pass
    assert len(rows) == 2 * 36 and md.count("\n| ") == 2 * 36 + 1
    labels = {"Core i7-1165G7": _batch1(raw[0]), "Raspberry Pi 5 Model B": _batch1(raw[1])}
    for r in rows:
        c = labels[r["device"]][(r["model"], float(r["input_size"]), r["resize"], r["backend"])]
        acc = c["accuracy"]
        assert float(r["accuracy"]) == pytest.approx(100 * acc["correct"] / acc["samples"])
        lo, hi = _wilson(acc["correct"], acc["samples"])
        assert float(r["accuracy_ci_low"]) == pytest.approx(100 * lo)
        assert float(r["accuracy_ci_high"]) == pytest.approx(100 * hi)
        assert float(r["latency_ms"]) == pytest.approx(float(np.median(c["latency"]["samples_ms"])))
        assert r["latency_batch"] == "1" and r["metric"] == "top-1 (%)"
        assert float(r["per_example_ms"]) == acc["per_example_ms"]
        assert int(r["flops_per_item"]) == c["flops"]["flops_per_item"]
        en = c["energy"]
        want = en["net_j_per_item"] if en["net_j_per_item"] is not None else en["gross_j_per_item"]
        assert float(r["energy_j"]) == pytest.approx(want)
        assert r["energy_basis"] == ("net" if r["device"].startswith("Core") else "gross")


def test_fronts_in_the_csv_are_the_brute_force_fronts(lab2):
    out, _, _ = lab2
    rows = _csv(out.html.parent / "report-tables" / "study-points.csv")
    for device in {r["device"] for r in rows}:
        mine = [r for r in rows if r["device"] == device]
        for cost, col in (("latency_ms", "latency_front"), ("energy_j", "energy_front")):
            for r in mine:
                a, c = float(r["accuracy"]), float(r[cost])
                beaten = any(float(o["accuracy"]) >= a and float(o[cost]) <= c
                             and (float(o["accuracy"]) > a or float(o[cost]) < c) for o in mine)
                assert r[col] == ("false" if beaten else "true"), (device, cost, r)
        assert any(r["latency_front"] == "true" for r in mine)


def test_energy_and_carbon_table_by_hand(lab2):
    out, _, raw = lab2
    rows = _csv(out.html.parent / "report-tables" / "study-energy.csv")
    assert len(rows) == 72
    r = next(r for r in rows if r["device"] == "Core i7-1165G7" and r["model"] == "digits-cnn"
             and r["input_size"] == "8.0" and r["resize"] == "area" and r["backend"] == "eager")
    c = _batch1(raw[0])[("digits-cnn", 8.0, "area", "eager")]
    net_j, g = c["energy"]["net_j_per_inference"], c["carbon"]["g_per_inference"]
    assert float(r["energy_kwh"]) == pytest.approx(net_j / 3.6e6)
    assert float(r["kg_co2eq"]) == pytest.approx(g / 1000)
    assert float(r["kg_co2eq_per_1000"]) == pytest.approx(g)  # 1,000 inferences x g / 1000 g per kg
    assert float(r["car_km_per_1000"]) == pytest.approx(c["carbon"]["equivalents"]["car_km_per_million"] / 1000)
    # EPA: 400 g CO2 per mile = 248.5 g per km; 8.22 g per smartphone charge
    assert float(r["car_km_per_1000"]) == pytest.approx(g * 1000 / (400 / 1.609344))
    assert float(r["smartphone_charges_per_1000"]) == pytest.approx(g * 1000 / 8.22)
    assert r["method"] == "measured (counter)" and r["energy_basis"] == "net" and r["params"] == "6090"
    pi = next(r for r in rows if r["device"] == "Raspberry Pi 5 Model B")
    assert pi["method"] == "estimated" and pi["energy_basis"] == "gross" and "EST" in pi["flags"]


def test_paired_accuracy_changes(lab2):
    out, _, raw = lab2
    rows = _csv(out.html.parent / "report-tables" / "study-accuracy-changes.csv")
    # one row per pass and candidate (batch 8 links to the batch-1 pass: not twice)
    assert len(rows) == 2 * 3 * 2 * 2 * 2
    sig = [r for r in rows if r["significant"] == "true"]
    assert {(r["model"], r["input_size"], r["candidate"]) for r in sig} == {("digits-cnn-small", "4.0", "ort-int8")}
    comp = next(c for c in raw[0]["comparisons"] if c["model"] == "digits-cnn-small" and c["input_size"] == 4.0
                and c["candidate_backend"] == "ort-int8" and c["accuracy_delta"] is not None)
    r = next(r for r in sig if r["device"] == "Core i7-1165G7" and r["changed_predictions"] ==
             str(comp["changed_predictions"]))
    assert float(r["delta"]) == pytest.approx(100 * comp["accuracy_delta"])
    assert float(r["mcnemar_p"]) == pytest.approx(comp["mcnemar_p"]) and float(r["mcnemar_p"]) < 0.05
    assert all(r["resize"] in ("area", "nearest") for r in rows)


def test_v1_style_metric_is_shown_as_stored(tmp_path):
    res = render_report([(FIX / "laptop-x86.json", load_results(FIX / "laptop-x86.json"))], tmp_path / "r.html")
    rows = _csv(tmp_path / "r-tables" / "study-points.csv")
    assert {r["metric"] for r in rows} == {"top-1 %"}
    resnet = [r for r in rows if r["model"] == "resnet18"]
    assert {float(r["accuracy"]) for r in resnet} == {69.758}
    assert "accuracy-efficiency" in res.html.read_text(encoding="utf-8")


def test_files_without_accuracy_have_no_section(tmp_path):
    res = render_report([(FIX / "jetson-orin.json", load_results(FIX / "jetson-orin.json"))], tmp_path / "r.html")
    html = res.html.read_text(encoding="utf-8")
    assert "accuracy-efficiency" not in html and "Accuracy vs efficiency" not in html
    assert not any(p.name.startswith("study-") for p in res.tables + res.figures)
    assert "Accuracy vs efficiency" not in res.markdown.read_text(encoding="utf-8")
    assert "resize" not in _csv(tmp_path / "r-tables" / "cases.csv")[0]
