"""Whether a record of a device's ceilings can be believed before it becomes the roof of every
case: the per-machine cache and a resumed run's stored ceilings are files, and a file can say
anything (a hand edit, another machine's copy, a broken writer). A record is refused when

* it is for another device or thread count than asked (or, from the cache, another cache key);
* a roof lies outside what any device that runs torch can do (bounds far from real devices, so
  that a real measurement is never refused: only nonsense such as 1 FLOP/s or 1e30);
* a roof contradicts its own kernels' figures (the GEMM roof is the fastest engine's rate, the
  bandwidth roof the faster of the triad-like kernels), or a kernel's median call is faster than
  its fastest.

The caller measures again and says why.
"""

from __future__ import annotations

import math

from suite.results.schema import CaseResult, DevicePeaks, PeakFigure, RooflineResult

# Plausible ceilings, (low, high). CPU figures scale with the threads measured: one core's fp32
# GEMM peaks at 64 FLOP/cycle (two 512-bit FMA pipes) x ~6 GHz = 0.4 TFLOP/s, an Apple matrix
# unit at ~2 TFLOP/s; one thread streams at most ~0.2 TB/s. A GPU: TF32 products reach a few
# PFLOP/s, HBM a few tens of TB/s. Below: 10 MFLOP/s and 10 MB/s, slower than any board that
# runs torch, even emulated.
CPU_GEMM_PER_THREAD = (1e7, 4e12)
CPU_BANDWIDTH_PER_THREAD = (1e7, 5e11)
GPU_GEMM = (1e8, 1e16)
GPU_BANDWIDTH = (1e7, 5e13)
BANDWIDTH_ROOF_KERNELS = ("triad", "onnxruntime.Add")  # the same bytes per element: the roof is the faster
REL_TOLERANCE = 1e-6  # a roof equals its kernel's figure up to JSON's rounding


def _si(v: float, unit: str) -> str:
    return f"{v:.3g} {unit}"


def bounds(device: str, threads: int | None) -> tuple[tuple[float, float], tuple[float, float]]:
    """((GEMM low, high) FLOP/s, (bandwidth low, high) bytes/s) plausible for `device`."""
    if device.startswith("cuda"):
        return GPU_GEMM, GPU_BANDWIDTH
    n = max(1, threads or 1)
    return ((CPU_GEMM_PER_THREAD[0], CPU_GEMM_PER_THREAD[1] * n),
            (CPU_BANDWIDTH_PER_THREAD[0], CPU_BANDWIDTH_PER_THREAD[1] * n))


def mismatch(peaks: DevicePeaks, device: str, threads: int, key: str | None = None) -> str | None:
    """Why `peaks` is not a record for `device` with `threads` threads (and cache `key`)."""
    want_threads = None if device.startswith("cuda") else threads
    if peaks.device != device or peaks.threads != want_threads:
        held = f"{peaks.device}" + (f", {peaks.threads} threads" if peaks.threads is not None else "")
        asked = f"{device}" + (f", {want_threads} threads" if want_threads is not None else "")
        return f"it holds the ceilings of {held}, not of {asked}"
    if key is not None and peaks.key != key:
        return f"its cache key {peaks.key!r} is not this machine's and libraries' ({key!r})"
    return None


def implausible(peaks: DevicePeaks) -> str | None:
    """Why a roof of `peaks` is outside what its device could do (None when both are inside)."""
    return implausible_roofs(peaks.gemm_flops_s, peaks.bandwidth_bytes_s, peaks.device, peaks.threads)


def implausible_roofs(gemm_flops_s: float | None, bandwidth_bytes_s: float | None, device: str,
                      threads: int | None) -> str | None:
    """Why a GEMM or bandwidth roof is outside what `device` with `threads` could do (None when
    neither is; a missing roof is not judged)."""
    (g_lo, g_hi), (b_lo, b_hi) = bounds(device, threads)
    per = "" if device.startswith("cuda") else f" with {threads or 1} thread(s)"
    for name, value, lo, hi, unit in (("GEMM", gemm_flops_s, g_lo, g_hi, "FLOP/s"),
                                      ("bandwidth", bandwidth_bytes_s, b_lo, b_hi, "B/s")):
        if value is not None and not (lo <= value <= hi):
            return (f"its {name} roof, {_si(value, unit)}, is outside what a {device} device could do{per} "
                    f"({_si(lo, unit)} to {_si(hi, unit)})")
    return None


def case_roofs_implausible(case: CaseResult) -> str | None:
    """Why the roofs a case was placed under (its stored roofline) are outside what its device
    could do; None when they are inside, or the case has no roofs."""
    r = case.roofline
    if r is None:
        return None
    return implausible_roofs(r.peak_flops_s, r.peak_bandwidth_bytes_s, case.spec.device, case.spec.threads)


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL_TOLERANCE)


def inconsistent(peaks: DevicePeaks) -> str | None:
    """Why the roofs of `peaks` contradict the kernels' figures they were taken from."""
    if not peaks.gemm:
        return "it has a GEMM roof but no GEMM kernel figures it was taken from"
    fastest = max(peaks.gemm.items(), key=lambda kv: kv[1].value)
    if not _same(peaks.gemm_flops_s, fastest[1].value):
        return (f"its GEMM roof, {_si(peaks.gemm_flops_s, 'FLOP/s')}, is not its fastest kernel's figure "
                f"({fastest[0]}: {_si(fastest[1].value, 'FLOP/s')})")
    roof_kernels = {k: f for k, f in peaks.bandwidth.items() if k in BANDWIDTH_ROOF_KERNELS}
    if not roof_kernels:
        return (f"it has a bandwidth roof but none of the kernels it is taken from "
                f"({', '.join(BANDWIDTH_ROOF_KERNELS)})")
    best = max(roof_kernels.items(), key=lambda kv: kv[1].value)
    if not _same(peaks.bandwidth_bytes_s, best[1].value):
        return (f"its bandwidth roof, {_si(peaks.bandwidth_bytes_s, 'B/s')}, is not its fastest triad-like "
                f"kernel's figure ({best[0]}: {_si(best[1].value, 'B/s')})")
    for name, fig in (*peaks.gemm.items(), *peaks.bandwidth.items()):
        if _median_beats_fastest(fig):
            return f"its {name} figure's median call is faster than its fastest call"
    return None


def _median_beats_fastest(fig: PeakFigure) -> bool:
    return fig.median_value is not None and fig.median_value > fig.value * (1 + REL_TOLERANCE)


def unusable(peaks: DevicePeaks, device: str, threads: int, key: str | None = None) -> str | None:
    """Why `peaks` cannot be the roofs of `device` with `threads` (None when it can)."""
    return mismatch(peaks, device, threads, key) or implausible(peaks) or inconsistent(peaks)


def above_roof(roofline: RooflineResult) -> str | None:
    """What is wrong with a case that achieved more than its attainable FLOP/s (None when it did
    not, or has no roof): the reader's flag `above_roof` (suite/results/flags.py)."""
    r = roofline
    if r.fraction_of_roof is None or r.fraction_of_roof <= 1 or r.attainable_flops_s is None:
        return None
    return (f"Achieved {r.achieved_flops_s / 1e9:.3g} GFLOP/s, {r.fraction_of_roof:.0%} of the attainable "
            f"{r.attainable_flops_s / 1e9:.3g} GFLOP/s ({r.bound or 'unknown'}-bound at "
            f"{r.arithmetic_intensity or 0:.3g} FLOP/byte)")
