"""suite.report.tables.tradeoffs: the accuracy-vs-efficiency tables on the committed Lab 2 study.
The fronts are held against a brute-force Pareto check, the energy and carbon columns against
unit conversions by hand, the paired changes against the stored per-sample predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.report.badges import compute_flags
from suite.report.merge import merge_results
from suite.report.tables.tradeoffs import study_tables
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[3] / "fixtures" / "results" / "lab2-study.json"


@pytest.fixture(scope="module")
def tables():
    data = merge_results([(FIX, load_results(FIX))])
    return study_tables(data, compute_flags(data))


def _dominated(p, others, cost: str) -> bool:
    return any(o is not p and o.accuracy >= p.accuracy and getattr(o, cost) <= getattr(p, cost)
               and (o.accuracy > p.accuracy or getattr(o, cost) < getattr(p, cost)) for o in others)


def test_the_fronts_are_the_brute_force_pareto_fronts(tables):
    rows = [r.data for r in tables.points.rows]
    assert len(rows) == len(tables.study.points) > 0
    timed = [r for r in rows if r.latency_ms is not None]
    for r in timed:
        assert r.latency_front == (not _dominated(r, timed, "latency_ms")), r
    metered = [r for r in rows if r.energy_j is not None]
    for r in metered:
        assert r.energy_front == (not _dominated(r, metered, "energy_j")), r
    assert any(r.latency_front for r in timed) and not all(r.latency_front for r in timed)


def test_energy_and_carbon_are_converted_by_hand(tables):
    points = {(p.device.label, p.model, p.input_size, p.resize, p.backend): p for p in tables.study.points}
    assert tables.carbon.rows
    for r in tables.carbon.rows:
        p = points[(r.data.device, r.data.model, r.data.input_size, r.data.resize, r.data.backend)]
        assert r.data.energy_kwh == pytest.approx(p.energy_j / 3.6e6)
        assert r.data.kg_co2eq == pytest.approx(p.carbon_g / 1000)
        assert r.data.kg_co2eq_per_1000 == pytest.approx(p.carbon_g)  # 1,000 inferences x g / 1000
        assert r.data.car_km_per_1000 == pytest.approx(p.carbon_g * 1000 / (400 / 1.609344))


def test_paired_changes_count_the_predictions_that_changed(tables):
    doc = json.loads(FIX.read_text())
    cases = {c["id"]: c for c in doc["cases"]}
    rows = tables.changes.rows
    assert rows
    for r in rows:
        d = r.data
        comp = next(c for c in doc["comparisons"] if c["model"] == d.model and c["input_size"] == d.input_size
                    and c["candidate_backend"] == d.candidate and c.get("accuracy_delta") is not None
                    and cases[c["candidate_case"]]["spec"].get("resize") == d.resize)
        base, cand = cases[comp["baseline_case"]]["accuracy"], cases[comp["candidate_case"]]["accuracy"]
        base = base if base.get("predictions") else cases[base["evaluated_in"]]["accuracy"]
        cand = cand if cand.get("predictions") else cases[cand["evaluated_in"]]["accuracy"]
        changed = sum(a != b for a, b in zip(base["predictions"], cand["predictions"]))
        assert d.changed_predictions == changed
        assert d.delta == pytest.approx((cand["value"] - base["value"]) * 100)  # percentage points
        assert d.significant == (d.mcnemar_p < 0.05)
