"""suite.report.figures.per_model: the small multiples, drawn for real with matplotlib. The data
each panel plots is read back from its axes (the figure is handed to the real finish_figure, which
saves it) and held against numpy's medians of the same samples."""

from __future__ import annotations

import numpy as np
import pytest
from report_builders import case, run, steady

from suite.report.badges import compute_flags
from suite.report.figures import per_model
from suite.report.figures.common import Ctx
from suite.report.merge import merge_results

BATCHES = (1, 2, 4, 8)
MEDIANS = {"eager": {1: 10.0, 2: 18.0, 4: 33.0, 8: 64.0}, "ort": {1: 4.0, 2: 7.0, 4: 12.0, 8: 22.0}}


@pytest.fixture
def drawn(keep_panels):
    kept = keep_panels(per_model)
    cases = [case("resnet18", b, steady(MEDIANS[be][b], n=21), backend=be) for be in MEDIANS for b in BATCHES]
    data = merge_results([run(cases)])
    ctx = Ctx(data, compute_flags(data), {id(d): "#0072B2" for d in data.devices}, first_n=12)
    return ctx, kept


def _series(ax):
    """(x, y) of each plotted line with markers (the median lines), in drawing order."""
    return [line.get_xydata() for line in ax.lines if len(line.get_xdata()) > 1]


def test_latency_vs_batch_plots_each_backends_medians(drawn):
    ctx, kept = drawn
    fig = per_model.latency_vs_batch(ctx)
    assert fig.id == "latency-vs-batch" and fig.png.startswith(b"\x89PNG") and b"<svg" in fig.svg
    [ax] = kept["latency-vs-batch"].axes
    lines = _series(ax)
    assert len(lines) == 2
    for line, backend in zip(lines, ("eager", "ort")):
        assert list(line[:, 0]) == list(BATCHES)
        np.testing.assert_allclose(line[:, 1], [np.median(steady(MEDIANS[backend][b], n=21)) for b in BATCHES])
    assert ax.get_xscale() == "log"


def test_latency_per_item_divides_by_the_batch(drawn):
    ctx, kept = drawn
    per_model.latency_per_item_vs_batch(ctx)
    [ax] = kept["latency-per-item-vs-batch"].axes
    eager = _series(ax)[0]
    np.testing.assert_allclose(eager[:, 1], [np.median(steady(MEDIANS["eager"][b], n=21)) / b for b in BATCHES])


def test_first_iterations_show_the_cold_call_the_warmup_and_the_first_samples(drawn):
    ctx, kept = drawn
    per_model.first_iterations(ctx)
    [ax] = kept["first-iterations"].axes
    full = [line for line in ax.lines if len(line.get_xdata()) == 12]
    lat = next(e for e in ctx.data.entries if e.backend == "eager" and e.spec.batch_size == 1).case.latency
    expected = ([lat.cold_ms] + list(lat.warmup_ms) + list(lat.samples_ms))[:12]
    assert any(np.allclose(line.get_ydata(), expected) for line in full)
    assert list(full[0].get_xdata()) == list(range(1, 13))


def test_distributions_box_each_backends_samples(drawn):
    ctx, kept = drawn
    per_model.distributions(ctx)
    [ax] = kept["latency-distributions"].axes
    # a horizontal box's median line sits at the sample median (x), one per backend at the reference batch
    medians = sorted(float(line.get_xdata()[0]) for line in ax.lines
                     if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]
                     and line.get_color() == "black")
    assert medians == pytest.approx(sorted(np.median(steady(MEDIANS[b][1], n=21)) for b in MEDIANS))


def test_a_model_run_at_one_batch_has_no_batch_figure():
    data = merge_results([run([case("m", 1, steady(5.0)), case("m", 1, steady(3.0), backend="ort")])])
    ctx = Ctx(data, compute_flags(data), {id(d): "#000000" for d in data.devices}, first_n=5)
    assert per_model.latency_vs_batch(ctx) is None and per_model.latency_vs_size(ctx) is None
    assert per_model.first_iterations(ctx) is not None
