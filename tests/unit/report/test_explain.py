"""The report's explanations (suite.report.explain), on hand-built results with known numbers."""

from __future__ import annotations

from report_builders import case, run, steady

from suite.report.badges import compute_flags
from suite.report.explain import (
    batching_explanations,
    model_explanations,
    non_monotonic_explanations,
    roof_explanations,
)
from suite.report.merge import merge_results
from suite.results.flags import flag
from suite.results.schema import RooflineResult


def _model(cases):
    data = merge_results([run(cases)])
    (m,) = data.models
    return data, m


def test_batching_stops_paying_where_the_per_item_gain_falls_below_ten_percent():
    # per item: b1 10 ms, b2 6 ms (-40%), b4 5.6 ms (-6.7%: stops paying), b8 5.5 ms
    _, m = _model([case("m", 1, steady(10.0)), case("m", 2, steady(12.0)), case("m", 4, steady(22.4)),
                   case("m", 8, steady(44.0))])
    (x,) = batching_explanations(m)
    assert "falls from 10 ms at batch 1 to 6 ms at batch 2" in x.text
    assert "improves less than 10% (batch 4: 5.6 ms)" in x.text and "beyond batch 2" in x.text


def test_batching_that_keeps_paying_and_batching_that_never_pays():
    _, m = _model([case("m", 1, steady(10.0)), case("m", 2, steady(10.0)), case("m", 4, steady(10.0))])
    (x,) = batching_explanations(m)
    assert "keeps falling up to the largest batch (10 ms at batch 1 to 2.5 ms at 4)" in x.text
    _, m = _model([case("m", 1, steady(10.0)), case("m", 2, steady(20.0)), case("m", 4, steady(40.0))])
    (x,) = batching_explanations(m)
    assert "batching does not pay here" in x.text
    _, m = _model([case("m", 1, steady(10.0)), case("m", 2, steady(20.0))])  # two points say nothing about a trend
    assert batching_explanations(m) == []


def test_latency_falling_with_batch_points_at_the_condition_flags():
    swap = flag("swap", "the machine swapped 120 MiB during the case")
    data, m = _model([case("m", 8, steady(80.0), flags=[swap]), case("m", 16, steady(61.0))])
    (x,) = non_monotonic_explanations(m, compute_flags(data))
    assert "falls from 80 ms at batch 8 to 61 ms at batch 16" in x.text and "the machine, not the model" in x.text
    data, m = _model([case("m", 8, steady(80.0)), case("m", 16, steady(61.0))])
    (x,) = non_monotonic_explanations(m, compute_flags(data))
    assert "no condition flag explains it" in x.text and "bench verify" in x.text
    data, m = _model([case("m", 8, steady(80.0)), case("m", 16, steady(150.0))])
    assert non_monotonic_explanations(m, compute_flags(data)) == []


def test_a_case_far_below_its_roof_says_which_roof_binds():
    far = RooflineResult(achieved_flops_s=2e9, attainable_flops_s=20e9, fraction_of_roof=0.1, arithmetic_intensity=2.0,
                         bound="memory", peak_flops_s=100e9, peak_bandwidth_bytes_s=10e9)
    near = far.model_copy(update={"achieved_flops_s": 15e9, "fraction_of_roof": 0.75})
    data, m = _model([case("m", 1, steady(10.0), roofline=far)])
    (x,) = roof_explanations(m)
    assert "10% of its roof at batch 1 (2 of 20 attainable GFLOP/s; intensity 2 FLOP/byte, memory-bound" in x.text
    data, m = _model([case("m", 1, steady(10.0), roofline=near)])
    assert roof_explanations(m) == []
    assert [e.topic for e in model_explanations(m, compute_flags(data))] == []


def test_a_roofline_without_its_attainable_figure_is_left_unexplained():
    # The schema lets a file carry the fraction of roof without the attainable FLOP/s or the
    # intensity (a hand edit, another writer): the sentence needs both, so there is none, and the
    # report does not stop on it (it raised TypeError before the type checker pointed at it).
    partial = RooflineResult(achieved_flops_s=2e9, fraction_of_roof=0.1)
    _, m = _model([case("m", 1, steady(10.0), roofline=partial)])
    assert roof_explanations(m) == []
    no_intensity = RooflineResult(achieved_flops_s=2e9, attainable_flops_s=20e9, fraction_of_roof=0.1)
    _, m = _model([case("m", 1, steady(10.0), roofline=no_intensity)])
    assert roof_explanations(m) == []


def test_explanations_name_the_cases_they_are_about():
    far = RooflineResult(achieved_flops_s=2e9, attainable_flops_s=20e9, fraction_of_roof=0.1, arithmetic_intensity=2.0,
                         bound="memory", peak_flops_s=100e9, peak_bandwidth_bytes_s=10e9)
    data, m = _model([case("m", 1, steady(10.0)), case("m", 2, steady(8.0)), case("m", 4, steady(16.0), roofline=far)])
    uids = [e.uid for e in sorted(m.entries, key=lambda e: e.spec.batch_size)]
    by_topic = {x.topic: x for x in model_explanations(m, compute_flags(data))}
    assert by_topic["roof"].case_uids == (uids[2],)  # the largest batch: the best chance of reaching the roof
    assert by_topic["non_monotonic"].case_uids == (uids[0], uids[1])
    assert by_topic["batching"].case_uids == tuple(uids)
