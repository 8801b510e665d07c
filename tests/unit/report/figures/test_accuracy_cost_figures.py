"""suite.report.figures.accuracy_vs_cost: the Lab 2 study's figures, drawn for real from the
committed study. What the panels plot is read back from the axes: the accuracies are the stored
ones, and the step line of the Pareto figure joins exactly the non-dominated points (brute force)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from suite.report.badges import compute_flags
from suite.report.figures import accuracy_vs_cost
from suite.report.figures.common import Ctx
from suite.report.merge import merge_results
from suite.results.io import load_results

FIX = Path(__file__).resolve().parents[3] / "fixtures" / "results" / "lab2-study.json"


@pytest.fixture(scope="module")
def ctx():
    data = merge_results([(FIX, load_results(FIX))])
    return Ctx(data, compute_flags(data), {id(d): "#0072B2" for d in data.devices}, first_n=10)


@pytest.fixture
def kept(keep_panels):
    return keep_panels(accuracy_vs_cost)


def test_flops_vs_accuracy_plots_the_stored_accuracies_at_the_counted_flops(ctx, kept):
    doc = json.loads(FIX.read_text())
    # top-1 is stored as a fraction and drawn in percent
    accuracies = {round(c["accuracy"]["value"] * 100, 6) for c in doc["cases"] if c.get("accuracy")}
    flops = {c["flops"]["flops_per_item"] for c in doc["cases"] if c.get("flops")}
    fig = accuracy_vs_cost.flops_vs_accuracy(ctx)
    assert fig.id == "study-flops-accuracy"
    [ax] = kept["study-flops-accuracy"].axes
    lines = [line for line in ax.lines if len(line.get_xdata())]
    assert lines
    for line in lines:
        assert {round(float(y), 6) for y in line.get_ydata()} <= accuracies
        assert {int(x) for x in line.get_xdata()} <= flops
        assert list(line.get_xdata()) == sorted(line.get_xdata())  # a series joins its sizes in order


def test_the_pareto_step_line_joins_the_non_dominated_points(ctx, kept):
    accuracy_vs_cost.pareto(ctx)
    axes = kept["study-pareto"].axes
    assert len(axes) == 2  # one device: latency and energy side by side
    for ax in axes:
        points = [(float(line.get_xdata()[0]), float(line.get_ydata()[0])) for line in ax.lines
                  if len(line.get_xdata()) == 1]
        step = next(line for line in ax.lines if len(line.get_xdata()) > 1)
        front = sorted((c, a) for c, a in points
                       if not any(a2 >= a and c2 <= c and (a2 > a or c2 < c) for c2, a2 in points))
        np.testing.assert_allclose(sorted(zip(step.get_xdata(), step.get_ydata())), front)
        assert np.all(np.diff(step.get_xdata()) >= 0)


def test_no_accuracy_no_study_figures():
    from report_builders import case, run

    data = merge_results([run([case("m", 1, [1.0, 1.2, 1.1])])])
    ctx = Ctx(data, compute_flags(data), {id(d): "#000000" for d in data.devices}, first_n=5)
    for make in (accuracy_vs_cost.flops_vs_accuracy, accuracy_vs_cost.latency_vs_accuracy,
                 accuracy_vs_cost.flops_vs_latency, accuracy_vs_cost.pareto):
        assert make(ctx) is None
