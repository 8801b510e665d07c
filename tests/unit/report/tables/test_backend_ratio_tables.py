"""suite.report.tables.backend_ratios: the cross-hardware matrix and the comparisons table. Two
devices, hand-built samples whose medians are known; each cell and ratio is held against numpy's
medians of the same samples, the CSV columns name the device, and the stored comparisons of a
committed file come back as stored."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from report_builders import case, env, run, steady

from suite.report.badges import compute_flags
from suite.report.merge import merge_results
from suite.report.tables.backend_ratios import comparisons_table, matrix_table
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[3] / "fixtures" / "results"


@pytest.fixture(scope="module")
def two_devices():
    pi = run([case("resnet18", 1, steady(40.0)), case("resnet18", 1, steady(16.0), backend="ort"),
              case("resnet18", 4, steady(150.0)), case("resnet18", 4, steady(50.0), backend="ort")],
             env("pi", "Cortex-A76", "Raspberry Pi 5"))
    laptop = run([case("resnet18", 1, steady(8.0)), case("resnet18", 1, steady(10.0), backend="ort")],
                 env("laptop", "Intel(R) Core(TM) i7-1165G7"))
    data = merge_results([pi, laptop])
    return data, compute_flags(data)


def test_each_cell_is_the_median_of_its_samples_and_each_ratio_their_quotient(two_devices):
    data, flags = two_devices
    table = matrix_table(data, flags)
    hosts = [d.env.hostname for d in data.devices]
    pi, laptop = hosts.index("pi"), hosts.index("laptop")
    by_batch = {r.data.batch_size: r.data for r in table.rows}
    assert set(by_batch) == {1, 4}
    b1 = by_batch[1]
    assert b1.medians[(pi, "eager")] == pytest.approx(np.median(steady(40.0)))
    assert b1.medians[(laptop, "ort")] == pytest.approx(np.median(steady(10.0)))
    assert b1.ratios[(pi, "ort")].ratio == pytest.approx(np.median(steady(16.0)) / np.median(steady(40.0)))
    assert b1.ratios[(laptop, "ort")].ratio == pytest.approx(1.25)
    assert b1.ratios[(pi, "ort")].significant and b1.ratios[(laptop, "ort")].significant
    assert (laptop, "eager") in b1.medians and (laptop, "eager") not in by_batch[4].medians  # not run there


def test_the_csv_names_each_device_and_holds_the_bare_ratio(two_devices):
    data, flags = two_devices
    rows = list(csv.DictReader(io.StringIO(matrix_table(data, flags).to_csv())))
    header = list(rows[0])
    slugs = {i: d.label.lower().replace(" ", "_").replace("-", "_") for i, d in enumerate(data.devices)}
    for i, name in slugs.items():
        assert f"d{i}_{name}_ort_ratio" in header and f"d{i}_{name}_eager_median_ms" in header
    row = next(r for r in rows if r["batch_size"] == "1")
    ratio_cols = sorted(h for h in header if h.endswith("_ort_ratio"))
    values = sorted(float(row[h]) for h in ratio_cols)
    assert values == pytest.approx(sorted([0.4, 1.25]))
    assert {row[h] for h in header if h.endswith("_ort_significant")} == {"true"}


def test_stored_comparisons_come_back_as_stored():
    doc = json.loads((FIX / "laptop-x86.json").read_text())
    data = merge_results([(FIX / "laptop-x86.json", load_results(FIX / "laptop-x86.json"))])
    table = comparisons_table(data, compute_flags(data))
    stored = {(c["model"], c["batch_size"], c["input_size"]): c for c in doc["comparisons"]}
    rows = [r.data for r in table.rows if r.data.origin == "stored"]
    assert len(rows) == len(stored)
    for r in rows:
        c = stored[(r.model, r.batch_size, r.input_size)]
        assert (r.ratio, r.ratio_ci, r.p_value, r.significant) == (c["ratio"], (c["ci_low"], c["ci_high"]),
                                                                     c["p_value"], c["significant"])
    assert [r.data.model.lower() for r in table.rows] == sorted(r.data.model.lower() for r in table.rows)
