"""Merging results from many files: devices by identity, names, derived comparisons, and the
order the report shows backends and cases in."""

from __future__ import annotations

import pytest
from report_builders import case, env, run, steady

from suite.report.backend_style import BASELINE_BACKEND, backend_order, backend_style
from suite.report.merge import merge_results, short_cpu_name, short_device_name


def test_devices_are_merged_by_identity_and_labelled_uniquely():
    a = run([case("m", 1, steady(10))], env("pi-a", board="Raspberry Pi 5 Model B Rev 1.0"))
    b = run([case("m", 1, steady(12))], env("pi-b", board="Raspberry Pi 5 Model B Rev 1.0"))
    a2 = run([case("m", 2, steady(20))], env("pi-a", board="Raspberry Pi 5 Model B Rev 1.0"))
    data = merge_results([a, b, a2])
    assert [d.label for d in data.devices] == ["Raspberry Pi 5 Model B (pi-a)", "Raspberry Pi 5 Model B (pi-b)"]
    assert [len(d.runs) for d in data.devices] == [2, 1]
    # the same host twice with the same CPU and board cannot be told apart by name: numbered
    c = run([case("m", 1, steady(10))], env("x", cpu="Cortex-A76"))
    d = run([case("m", 1, steady(10))], env("x", cpu="Cortex-A76 "))
    assert sorted(dv.label for dv in merge_results([c, d]).devices) == ["Cortex-A76 (x)", "Cortex-A76 (x) #2"]


def test_short_names():
    assert short_cpu_name("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz") == "Core i7-1165G7"
    assert short_cpu_name("AMD Ryzen 7 5800U with Radeon Graphics") == "Ryzen 7 5800U"
    assert short_device_name(env(board="NVIDIA Jetson AGX Orin Developer Kit")) == "Jetson AGX Orin"
    assert short_device_name(env(board="Raspberry Pi 4 Model B Rev 1.4")) == "Raspberry Pi 4 Model B"


def test_missing_comparisons_are_computed_from_the_samples():
    base = steady(10.0, 40)
    fast = steady(6.0, 40)
    data = merge_results([run([case("m", 1, base), case("m", 1, fast, backend="ort")])])
    (cv,) = data.comparisons
    assert cv.computed and cv.comparison.ratio == pytest.approx(0.6)
    assert cv.comparison.significant


def test_stored_comparisons_are_kept_and_not_computed_again():
    from suite.results.comparisons import compare_pair

    base, fast = case("m", 1, steady(10.0, 40)), case("m", 1, steady(6.0, 40), backend="ort")
    r = run([base, fast])
    r = r.model_copy(update={"comparisons": [compare_pair(base, fast)]})
    (cv,) = merge_results([r]).comparisons
    assert not cv.computed
    assert cv.baseline is not None and cv.baseline.backend == BASELINE_BACKEND
    assert cv.candidate is not None and cv.candidate.backend == "ort"


def test_backends_sort_in_the_known_order_then_by_name():
    names = ["zeta", "ort-int8", "alpha", "ort", "eager"]
    assert sorted(names, key=backend_order) == ["eager", "ort", "ort-int8", "alpha", "zeta"]
    assert BASELINE_BACKEND == "eager"


def test_every_backend_has_a_distinct_style():
    styles = [backend_style(b) for b in ("eager", "ort", "ort-int8", "something-new")]
    assert len(set(styles)) == 4
    assert backend_style("another-new") == backend_style("something-new")


def test_entries_models_and_matrix_are_in_report_order():
    r = run([case("beta", 2, steady(20)), case("Alpha", 1, steady(10), backend="ort"),
             case("Alpha", 1, steady(12)), case("beta", 1, steady(11), size=128.0)])
    data = merge_results([r])
    assert [(e.model, e.spec.input_size, e.spec.batch_size, e.backend) for e in data.entries] == [
        ("Alpha", 224.0, 1, "eager"), ("Alpha", 224.0, 1, "ort"), ("beta", 128.0, 1, "eager"),
        ("beta", 224.0, 2, "eager")]
    assert [m.name for m in data.models] == ["Alpha", "beta"]
    assert data.models[0].backends == ["eager", "ort"]
    assert list(data.matrix()) == [("Alpha", 1, "resolution", 224.0, None), ("beta", 1, "resolution", 128.0, None),
                                   ("beta", 2, "resolution", 224.0, None)]


def test_the_matrix_cell_lists_the_newest_run_first():
    from datetime import timedelta

    old = run([case("m", 1, steady(10))])
    new = run([case("m", 1, steady(9))]).model_copy(update={"created_at": old.created_at + timedelta(days=1),
                                                           "run_id": "r2"})
    data = merge_results([old, new])
    (cells,) = data.matrix().values()
    assert [e.median_ms for e in cells[(0, "eager")]] == [pytest.approx(9), pytest.approx(10)]
