"""Measured device ceilings (bench peak) against independent timings with numpy, and their cache."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest

from suite.metrics import peak
from suite.metrics.peak import last_level_cache_bytes, rate_of, stream_elements

MiB = 1024 * 1024


def test_rate_of_is_the_median_call_with_its_iqr():
    times = [0.010, 0.011, 0.012, 0.013, 0.050]  # one slow call does not move a median rate
    fig = rate_of(1e9, times)
    assert fig.value == pytest.approx(1e9 / 0.012)
    q = statistics.quantiles(times, n=4)
    assert fig.spread == pytest.approx((q[2] - q[0]) / 0.012)
    assert fig.repeats == 5


def test_last_level_cache_from_a_sysfs_tree(tmp_path):
    # Laid out like /sys/devices/system/cpu/cpu0/cache on an x86 machine: L1d, L1i, L2, L3.
    base = tmp_path / "sys/devices/system/cpu/cpu0/cache"
    for i, (level, kind, size) in enumerate([(1, "Data", "32K"), (1, "Instruction", "32K"), (2, "Unified", "1024K"),
                                             (3, "Unified", "32768K")]):
        d = base / f"index{i}"
        d.mkdir(parents=True)
        (d / "level").write_text(f"{level}\n")
        (d / "type").write_text(f"{kind}\n")
        (d / "size").write_text(f"{size}\n")
    assert last_level_cache_bytes(str(tmp_path)) == 32 * MiB
    assert last_level_cache_bytes(str(tmp_path / "nothing")) is None


def test_stream_arrays_are_far_larger_than_the_cache_but_fit_memory():
    assert stream_elements(32 * MiB, 64 * 1024 * MiB) * 4 == 256 * MiB  # 8 x L3
    assert stream_elements(None, None) * 4 == 64 * MiB  # at least 64 MiB
    assert stream_elements(32 * MiB, 1024 * MiB) * 4 == 64 * MiB  # a 1 GiB board: 1/16 of its memory


def _best_rate(fn, work: float, reps: int = 7) -> float:
    """The median call's rate: the statistic the suite reports (a sustained rate, not a burst)."""
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return work / statistics.median(times)


def test_gemm_peak_agrees_with_numpy_matmul():
    """The suite's torch GEMM rate (1 thread, 512x512) within 15% of numpy's matmul through its own
    BLAS, same thread count and size; measured interleaved, best of three rounds each."""
    from threadpoolctl import threadpool_limits

    n = 512
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((n, n), dtype=np.float32), rng.standard_normal((n, n), dtype=np.float32)
    ours, ref = [], []
    with threadpool_limits(1):
        for _ in range(3):
            ours.append(peak.gemm_torch(1, budget_s=0.3, sizes=(n,)).value)
            ref.append(_best_rate(lambda: a @ b, 2.0 * n ** 3, reps=15))
    assert max(ours) == pytest.approx(max(ref), rel=0.15)


def test_bandwidth_agrees_with_a_numpy_triad():
    """The suite's STREAM triad (torch, 1 thread) within 15% of numpy's one-pass a = b + c over the same
    arrays: three arrays moved per element either way (numpy has no fused b + s*c without a
    temporary, which would move five)."""
    elements = 32 * MiB // 4 * 4  # 128 MiB per array: far beyond the cache of any machine this runs on
    x, y, z = np.empty(elements, np.float32), np.ones(elements, np.float32), np.ones(elements, np.float32)
    ours, ref = [], []
    for _ in range(5):  # best of five interleaved rounds: a busy machine slows single rounds
        ours.append(peak.bandwidth_torch(1, elements, min_s=0.3)["triad"].value)
        ref.append(_best_rate(lambda: np.add(y, z, out=x), 3 * elements * 4, reps=5))
    assert max(ours) == pytest.approx(max(ref), rel=0.15)


def test_peaks_are_cached_per_threads(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCH_PEAKS_DIR", str(tmp_path))
    calls = []
    real = peak.measure_peaks

    def counted(device, threads, *, budget_s=3.0):  # noqa: ANN001, ANN202
        calls.append(threads)
        return real(device, threads, budget_s=0.3)

    monkeypatch.setattr(peak, "measure_peaks", counted)
    first = peak.load_or_measure("cpu", 1)
    again = peak.load_or_measure("cpu", 1)
    assert calls == [1] and not first.cached and again.cached
    assert again.gemm_flops_s == first.gemm_flops_s and len(list(tmp_path.glob("*.json"))) == 1
    assert set(first.gemm) >= {"torch.mm", "onnxruntime.MatMul"} and set(first.bandwidth) == {"copy", "triad"}
    assert first.gemm_flops_s == max(f.value for f in first.gemm.values())
    assert first.bandwidth_bytes_s == first.bandwidth["triad"].value
    peak.load_or_measure("cpu", 2)  # another thread count: measured, cached apart
    assert calls == [1, 2] and len(list(tmp_path.glob("*.json"))) == 2
    (tmp_path / f"{first.key}.json").write_text("{ not json")  # a damaged entry is measured again
    assert not peak.load_or_measure("cpu", 1).cached
