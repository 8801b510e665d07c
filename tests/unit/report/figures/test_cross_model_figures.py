"""suite.report.figures.cross_model: every model in one plot, drawn for real. The points are read
back from the axes and held against the stored FLOPs and numpy's medians; the roofs against
min(peak, intensity x bandwidth) computed here."""

from __future__ import annotations

import numpy as np
import pytest
from report_builders import T0, case, env, run, steady

from suite.report.badges import compute_flags
from suite.report.figures import cross_model
from suite.report.figures.common import Ctx
from suite.report.merge import merge_results
from suite.results.schema import DevicePeaks, EnergyResult, FlopStats, RooflineResult

FLOPS = {"big": 4_000_000_000, "small": 300_000_000}


def _energy(j: float, method: str) -> EnergyResult:
    return EnergyResult(meter="rapl" if method == "counter" else "estimate", method=method, window_s=2.0,
                        inferences=10, items=10, gross_j=10 * j, mean_power_w=5 * j, gross_j_per_inference=j,
                        gross_j_per_item=j)


@pytest.fixture
def drawn(keep_panels):
    kept = keep_panels(cross_model)
    e = env()
    e.peaks = [DevicePeaks(device="cpu", threads=4, gemm_flops_s=200e9, bandwidth_bytes_s=20e9, measured_at=T0,
                           duration_s=1.0)]
    cases = []
    for model, median, joules, method in (("big", 80.0, 2.0, "counter"), ("small", 9.0, 0.3, "estimated")):
        fl = FlopStats(macs=FLOPS[model] // 2, flops=FLOPS[model], flops_per_item=FLOPS[model])
        roof = RooflineResult(achieved_flops_s=FLOPS[model] / (median / 1e3), arithmetic_intensity=FLOPS[model] / 1e8)
        cases.append(case(model, 1, steady(median), flops=fl, energy=_energy(joules, method), roofline=roof))
    data = merge_results([run(cases, e)])
    return Ctx(data, compute_flags(data), {id(d): "#0072B2" for d in data.devices}, first_n=10), kept


def _points(ax):
    return sorted(tuple(p) for line in ax.lines if line.get_linestyle() in ("None", "") for p in line.get_xydata())


def test_flops_vs_latency_places_each_case_at_its_flops_and_median(drawn):
    ctx, kept = drawn
    assert cross_model.flops_vs_latency(ctx).id == "flops-vs-latency"
    [ax] = kept["flops-vs-latency"].axes
    expected = sorted((FLOPS[m], float(np.median(steady(med)))) for m, med in (("big", 80.0), ("small", 9.0)))
    np.testing.assert_allclose(_points(ax), expected)
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_energy_vs_latency_hollows_the_estimates(drawn):
    ctx, kept = drawn
    cross_model.energy_vs_latency(ctx)
    [ax] = kept["energy-vs-latency"].axes
    marks = {round(float(line.get_ydata()[0]), 6): line.get_markerfacecolor() for line in ax.lines
             if line.get_linestyle() in ("None", "")}
    assert marks[0.3] == "white" and marks[2.0] != "white"


def test_achieved_flops_are_flops_over_the_median_time(drawn):
    ctx, kept = drawn
    cross_model.achieved_flops(ctx)
    [ax] = kept["achieved-flops"].axes
    xs = sorted(x for x, _ in _points(ax))
    assert xs == pytest.approx(sorted([FLOPS["big"] / 0.080 / 1e9, FLOPS["small"] / 0.009 / 1e9]), rel=1e-2)


def test_the_roof_is_the_lower_of_compute_and_bandwidth(drawn):
    ctx, kept = drawn
    cross_model.roofline(ctx)
    [ax] = kept["roofline"].axes
    roof = next(line for line in ax.lines if line.get_linestyle() == "--")
    x, y = roof.get_xdata(), roof.get_ydata()
    np.testing.assert_allclose(y, np.minimum(200e9, x * 20e9) / 1e9)
    assert any(abs(line.get_xdata()[0] - 10.0) < 1e-9 for line in ax.lines if line.get_linestyle() == ":")  # ridge
