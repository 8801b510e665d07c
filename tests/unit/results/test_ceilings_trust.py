"""The ceilings cache and a resumed run's stored ceilings are files, so they are checked before
they become every case's roof (issue 23): another device's or thread count's record, roofs no
device could have, roofs that contradict their own kernels' figures, and a path that is not a
regular file are refused with the reason, and the ceilings measured again. A case above its roof,
or placed under implausible roofs, is flagged in the report."""

from __future__ import annotations

import os
import threading

import pytest
from report_builders import case, env, run, steady

from suite.metrics import peak, peak_cache
from suite.report.badges import compute_flags
from suite.report.merge import merge_results
from suite.results.ceilings import unusable
from suite.results.safe_read import read_regular_bytes
from suite.results.schema import DevicePeaks, FlopStats, RooflineResult
from suite.run.case_parts import CaseContext


@pytest.fixture(scope="module")
def measured() -> DevicePeaks:
    """A real record, as `bench peak` writes it (a short budget)."""
    return peak.measure_peaks("cpu", 1, budget_s=0.3)


@pytest.fixture
def cache(tmp_path, monkeypatch, measured):
    monkeypatch.setenv("BENCH_PEAKS_DIR", str(tmp_path))
    return tmp_path / f"{measured.key}.json"


def scaled(p: DevicePeaks, factor: float) -> DevicePeaks:
    """Every figure of `p` times `factor`: a record consistent with itself, at another scale."""
    def fig(f):
        return f.model_copy(update={"value": f.value * factor, "median_value": f.median_value * factor})

    return p.model_copy(update={"gemm_flops_s": p.gemm_flops_s * factor, "gemm": {k: fig(f) for k, f in p.gemm.items()},
                                "bandwidth_bytes_s": p.bandwidth_bytes_s * factor,
                                "bandwidth": {k: fig(f) for k, f in p.bandwidth.items()}})


def lies(p: DevicePeaks) -> dict[str, tuple[DevicePeaks, str]]:
    mm = p.gemm["torch.mm"]
    return {
        "gemm = bandwidth = 1": (p.model_copy(update={"gemm_flops_s": 1.0, "bandwidth_bytes_s": 1.0}),
                                 "its GEMM roof, 1 FLOP/s, is outside what a cpu device could do with 1 thread(s)"),
        "1e30, consistent": (scaled(p, 1e30 / p.gemm_flops_s), "is outside what a cpu device could do"),
        "ten million times slower, consistent": (scaled(p, 1e-7), "is outside what a cpu device could do"),
        "total above its kernels": (p.model_copy(update={"gemm_flops_s": p.gemm_flops_s * 1.5}),
                                    "is not its fastest kernel's figure"),
        "bandwidth below its kernels": (p.model_copy(update={"bandwidth_bytes_s": p.bandwidth_bytes_s / 2}),
                                        "is not its fastest triad-like kernel's figure"),
        "no kernels": (p.model_copy(update={"gemm": {}}), "no GEMM kernel figures"),
        "median call faster than the fastest": (
            p.model_copy(update={"gemm": {**p.gemm, "torch.mm": mm.model_copy(update={"median_value": mm.value * 2})}}),
            "torch.mm figure's median call is faster than its fastest call"),
        "another device": (p.model_copy(update={"device": "cuda:7", "threads": 64}),
                           "it holds the ceilings of cuda:7, 64 threads, not of cpu, 1 threads"),
        "another thread count": (p.model_copy(update={"threads": 64}), "not of cpu, 1 threads"),
        "another machine's key": (p.model_copy(update={"key": "0123456789abcdef"}), "is not this machine's"),
    }


def test_a_true_record_is_served_from_the_cache(cache, measured):
    cache.write_text(measured.model_dump_json())
    served, why = peak_cache.read_cache("cpu", 1)
    assert why is None and served.cached and served.gemm_flops_s == measured.gemm_flops_s
    assert unusable(measured, "cpu", 1, measured.key) is None


LIES = ["gemm = bandwidth = 1", "1e30, consistent", "ten million times slower, consistent",
        "total above its kernels", "bandwidth below its kernels", "no kernels", "median call faster than the fastest",
        "another device", "another thread count", "another machine's key"]


def test_every_lie_is_tried(measured):
    assert sorted(lies(measured)) == sorted(LIES)


@pytest.mark.parametrize("lie", LIES)
def test_a_cached_record_that_lies_is_refused_with_the_reason(cache, measured, lie):
    record, reason = lies(measured)[lie]
    cache.write_text(record.model_dump_json())
    served, why = peak_cache.read_cache("cpu", 1)
    assert served is None and reason in why and str(cache) in why


def test_what_the_schema_refuses_is_not_a_record(cache, measured):
    cache.write_text(measured.model_dump_json().replace(f'"bandwidth_bytes_s":{measured.bandwidth_bytes_s!r}',
                                                        '"bandwidth_bytes_s":0'))
    served, why = peak_cache.read_cache("cpu", 1)
    assert served is None and "is not a ceilings record (bandwidth_bytes_s: Input should be greater than 0)" in why


def _in_time(fn, timeout_s: float = 10):
    """fn() in a thread that must finish within `timeout_s`: a read that blocks fails the test."""
    out: list = []
    t = threading.Thread(target=lambda: out.append(fn()), daemon=True)
    t.start()
    t.join(timeout_s)
    assert not t.is_alive(), "the read blocked"
    return out[0]


@pytest.mark.parametrize("kind", ["fifo", "dev-zero symlink", "too big", "folder"])
def test_a_cache_path_that_is_not_a_small_regular_file_is_not_read(cache, measured, kind):
    if kind == "fifo":
        os.mkfifo(cache)
        reason = "a named pipe (FIFO), not a regular file"
    elif kind == "dev-zero symlink":
        cache.symlink_to("/dev/zero")
        reason = "a character device, not a regular file"
    elif kind == "too big":
        cache.write_text(measured.model_dump_json() + " " * peak_cache.CACHE_MAX_BYTES)
        reason = "larger than the 1 MiB read at most"
    else:
        cache.mkdir()
        reason = "is a folder"
    served, why = _in_time(lambda: peak_cache.read_cache("cpu", 1))
    assert served is None and reason in why


def test_a_refused_record_is_measured_again_and_replaced(cache, measured):
    os.mkfifo(cache)
    told = []
    fresh = _in_time(lambda: peak_cache.peaks_in_worker("cpu", 1, on_refused=told.append), timeout_s=120)
    assert len(told) == 1 and "FIFO" in told[0]
    assert not fresh.cached and unusable(fresh, "cpu", 1, measured.key) is None
    assert cache.is_file() and peak_cache.read_cache("cpu", 1)[0] == fresh.model_copy(update={"cached": True})


def test_a_resumed_runs_stored_ceilings_are_checked_too(cache, measured):
    """A results file is data: its stored ceilings are dropped when they lie, with a warning, and
    the cache (true here, so nothing is measured) serves the run."""
    cache.write_text(measured.model_dump_json())
    events = []
    lie = scaled(measured, 1e30 / measured.gemm_flops_s)
    out = peak_cache.peaks_for_run([lie], {("cpu", 1)}, lambda kind, data: events.append((kind, data["message"])))
    assert out == [measured.model_copy(update={"cached": True})]
    assert events[0][0] == "warning" and "the results file's ceilings of cpu are not used" in events[0][1]
    assert "outside what a cpu device could do" in events[0][1]


def test_a_case_gets_the_ceilings_of_its_own_thread_count(measured):
    two = measured.model_copy(update={"threads": 2, "gemm_flops_s": measured.gemm_flops_s * 2})
    ctx = CaseContext(config=None, peaks=[two, measured])  # type: ignore[arg-type]
    assert ctx.peaks_for("cpu", 1) is measured and ctx.peaks_for("cpu", 2) is two
    assert ctx.peaks_for("cpu", 4) is None


def test_read_regular_bytes_reads_a_regular_file_up_to_the_cap(tmp_path):
    f = tmp_path / "f.json"
    f.write_bytes(b"x" * 100)
    assert read_regular_bytes(f, 100) == b"x" * 100
    with pytest.raises(OSError, match="100 bytes, larger than"):
        read_regular_bytes(f, 99)
    (tmp_path / "link").symlink_to(f)  # a symlink to a regular file is read
    assert read_regular_bytes(tmp_path / "link", 100) == b"x" * 100
    with pytest.raises(FileNotFoundError):
        read_regular_bytes(tmp_path / "missing", 100)


def _flags_of(roofline: RooflineResult, threads: int = 4) -> dict[str, str]:
    flops = FlopStats(macs=10**9, flops=2 * 10**9, flops_per_item=2 * 10**9)
    c = case("m", 1, steady(20.0), flops=flops, roofline=roofline)
    c = c.model_copy(update={"spec": c.spec.model_copy(update={"threads": threads})})
    data = merge_results([run([c], env())])
    return {f.kind: f.detail for f in compute_flags(data)[data.entries[0].uid]}


def test_a_case_above_its_roof_is_flagged_on_the_percent_of_roof():
    above = RooflineResult(achieved_flops_s=1e11, peak_flops_s=2e11, peak_bandwidth_bytes_s=2e10,
                           arithmetic_intensity=2.0, attainable_flops_s=4e10, fraction_of_roof=2.5, bound="memory")
    flags = _flags_of(above)
    assert flags["above_roof"].startswith("Achieved 100 GFLOP/s, 250% of the attainable 40 GFLOP/s (memory-bound")
    assert "implausible_roof" not in flags
    below = above.model_copy(update={"achieved_flops_s": 2e10, "fraction_of_roof": 0.5})
    assert "above_roof" not in _flags_of(below)


def test_a_case_placed_under_impossible_ceilings_is_flagged():
    """The issue's 0.0% of roof: a 1e30 FLOP/s roof (a file that lied when the case was measured)."""
    r = RooflineResult(achieved_flops_s=1e11, peak_flops_s=1e30, peak_bandwidth_bytes_s=1e30,
                       arithmetic_intensity=2.0, attainable_flops_s=1e30, fraction_of_roof=1e-19, bound="compute")
    flags = _flags_of(r, threads=4)
    assert "its GEMM roof, 1e+30 FLOP/s, is outside what a cpu device could do with 4 thread(s)" in flags[
        "implausible_roof"]
