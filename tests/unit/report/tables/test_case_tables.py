"""suite.report.tables.cases: every case, its flags folded per device, its failures. Rows held
against the committed results files read with json, medians against numpy's."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from suite.report.badges import compute_flags
from suite.report.merge import merge_results
from suite.report.tables.cases import (
    case_label,
    cases_table,
    failures_table,
    flags_table,
)
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[3] / "fixtures" / "results"
FILES = ["laptop-x86.json", "rpi5.json"]


@pytest.fixture(scope="module")
def data():
    return merge_results([(FIX / f, load_results(FIX / f)) for f in FILES])


@pytest.fixture(scope="module")
def raw():
    """(file, case id) -> the case as stored (one spec may run on several devices)."""
    return {(str(FIX / f), c["id"]): c for f in FILES for c in json.loads((FIX / f).read_text())["cases"]}


def test_one_row_per_case_with_the_median_of_its_samples(data, raw):
    rows = cases_table(data.entries, compute_flags(data)).rows
    assert len(rows) == len(raw)
    for row, e in zip(rows, data.entries):
        c = raw[(e.run.source, e.case.id)]
        assert row.data.status == c["status"].replace("_", " ") and row.data.backend == c["spec"]["backend"]
        if c.get("latency"):
            assert row.data.median_ms == pytest.approx(np.median(c["latency"]["samples_ms"]))
            assert row.data.samples == len(c["latency"]["samples_ms"])
        else:
            assert row.data.median_ms is None
        if c.get("energy"):
            assert row.data.energy_gross_j == c["energy"]["gross_j_per_inference"]
            assert row.data.energy_method.startswith(f'{c["energy"]["method"]} ({c["energy"]["meter"]}')


def test_every_failed_case_is_listed_with_its_error(data, raw):
    rows = failures_table(data).rows
    failed = [c for c in raw.values() if c["status"] in ("failed", "parity_failed")]
    assert sorted((r.data.kind, r.data.message) for r in rows) == sorted(
        (c["error"]["kind"], c["error"]["message"]) for c in failed)
    assert failed


def test_identical_flags_on_one_device_are_folded_and_counted(data):
    flags = compute_flags(data)
    rows = flags_table(data, flags).rows
    total = sum(len(v) for v in flags.values())
    assert sum(r.data.count for r in rows) == total
    folded = [r.data for r in rows if r.data.count > 1]
    assert folded and all(r.case.endswith(f"and {r.count - 1} more") for r in folded)
    order = {"do not trust": 0, "read with care": 1, "note": 2}
    assert [order[r.data.severity] for r in rows] == sorted(order[r.data.severity] for r in rows)


def test_a_case_label_names_model_backend_batch_and_size(data):
    e = next(e for e in data.entries if e.spec.input_size == 224.0)
    assert case_label(e) == f"{e.model} \u00b7 {e.backend} \u00b7 batch {e.spec.batch_size} \u00b7 224 (resolution)"
