"""The report's roofline figure draws each device's measured roofs, the GPU's beside the CPU's."""

from __future__ import annotations

from report_builders import T0, case, env, run, steady

from suite.report.badges import compute_flags
from suite.report.figures import FIGURES, draw_figure
from suite.report.figures.common import Ctx
from suite.report.merge import merge_results
from suite.results.schema import DevicePeaks, FlopStats, RooflineResult


def _peaks(device: str, flops_s: float, bw: float) -> DevicePeaks:
    return DevicePeaks(device=device, threads=4 if device == "cpu" else None, gemm_flops_s=flops_s,
                       bandwidth_bytes_s=bw, measured_at=T0, duration_s=1.0)


def _figure(peaks: list[DevicePeaks]):
    e = env()
    e.peaks = peaks
    flops = FlopStats(macs=10**9, flops=2 * 10**9, flops_per_item=2 * 10**9)
    cases = [case("m", 1, steady(20.0), flops=flops,
                  roofline=RooflineResult(achieved_flops_s=1e11, arithmetic_intensity=8.0)),
             case("m", 4, steady(60.0), flops=flops,
                  roofline=RooflineResult(achieved_flops_s=1.3e11, arithmetic_intensity=20.0))]
    data = merge_results([run(cases, e)])
    spec = next(s for s in FIGURES if s.name == "roofline")
    return draw_figure(spec, Ctx(data, compute_flags(data), {id(d): "#123456" for d in data.devices}, 10))


def test_each_device_gets_its_own_roofs_labelled_when_there_are_several():
    fig = _figure([_peaks("cpu", 200e9, 40e9), _peaks("cuda:0", 50e12, 3e12)])
    svg = fig.svg.decode()
    assert "cpu: 200 GFLOP/s, 40 GB/s" in svg and "cuda:0: 50000 GFLOP/s, 3000 GB/s" in svg
    fig = _figure([_peaks("cpu", 200e9, 40e9)])
    svg = fig.svg.decode()
    assert "200 GFLOP/s, 40 GB/s" in svg and "cpu: " not in svg
    assert "No device ceilings" not in fig.caption
    assert "No device ceilings were measured" in _figure([]).caption
