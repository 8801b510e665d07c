"""Measured ceilings of a device: sustained fp32 GEMM FLOP/s and sustained memory bandwidth.

What the roofline of every case is drawn against (suite.metrics.roofline). Measured, not taken
from a data sheet, with the run's thread count:

* compute: square fp32 matrix products over a size sweep, with torch (`torch.mm`) and with ONNX
  Runtime (a one-node `MatMul` graph); each size repeated until `min_s` has passed, its rate the
  *median* call (sustained, not one lucky burst); the peak is the best size of the best engine.
  A size whose single call already takes a quarter of the budget ends the sweep, so a Raspberry Pi
  spends seconds, not minutes.
* memory: STREAM's copy (a = b: 2 arrays moved) and triad (a = b + s*c: 3 arrays) over arrays far
  larger than the last-level cache, bytes counted the STREAM way (no write-allocate traffic); the
  bandwidth roof is the triad's median rate.
* on CUDA the same with CUDA events, on the GPU's memory.

Each figure keeps its spread (relative IQR of its repeats) and how it was obtained. Results are
cached per machine + device + threads + library versions (`load_or_measure`), since a device's
ceilings do not change between runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suite.results.schema import DevicePeaks, PeakFigure, utc_now

GEMM_SIZES = (256, 512, 1024, 2048)
ENV_VAR = "BENCH_PEAKS_DIR"
MiB = 1024 * 1024


def rate_of(work: float, times_s: list[float]) -> PeakFigure:
    """A sustained rate from repeated timings of the same `work` (FLOPs or bytes): the median
    call's rate, with the spread of the calls (IQR / median of the times)."""
    med = statistics.median(times_s)
    if len(times_s) >= 4:
        q = statistics.quantiles(times_s, n=4)
        spread = (q[2] - q[0]) / med
    else:
        spread = (max(times_s) - min(times_s)) / med
    return PeakFigure(value=work / med, spread=spread, repeats=len(times_s), method="")


def _repeat(fn: Callable[[], Any], min_s: float, min_reps: int = 3, max_reps: int = 200,
            timer: Callable[[], float] = time.perf_counter) -> list[float]:
    fn()  # warm: first-touch pages, kernel selection
    times: list[float] = []
    start = timer()
    while len(times) < max_reps and (len(times) < min_reps or timer() - start < min_s):
        t0 = timer()
        fn()
        times.append(timer() - t0)
    return times


def _sweep(make: Callable[[int], Callable[[], Any]], sizes: tuple[int, ...], budget_s: float,
           label: str) -> PeakFigure:
    """The best sustained GEMM rate over `sizes` (each given ~budget/len(sizes) seconds)."""
    best: PeakFigure | None = None
    per_size = budget_s / len(sizes)
    for n in sizes:
        fn = make(n)
        t0 = time.perf_counter()
        fn()
        single = time.perf_counter() - t0
        fig = rate_of(2.0 * n ** 3, _repeat(fn, min_s=per_size))
        fig = fig.model_copy(update={"size": n, "method": f"{label}, {n}x{n} fp32, median of {fig.repeats} calls"})
        if best is None or fig.value > best.value:
            best = fig
        if single > budget_s / 4:
            break
    assert best is not None
    return best


def gemm_torch(threads: int, budget_s: float = 1.2, sizes: tuple[int, ...] = GEMM_SIZES) -> PeakFigure:
    import torch

    torch.set_num_threads(threads)

    def make(n: int) -> Callable[[], Any]:
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
        out = torch.empty(n, n)
        return lambda: torch.mm(a, b, out=out)

    with torch.inference_mode():
        return _sweep(make, sizes, budget_s, "torch.mm")


def gemm_ort(threads: int, budget_s: float = 1.2, sizes: tuple[int, ...] = GEMM_SIZES) -> PeakFigure:
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper

    def make(n: int) -> Callable[[], Any]:
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["A", "B"], ["C"])], "gemm",
            [helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n]),
             helper.make_tensor_value_info("B", TensorProto.FLOAT, [n, n])],
            [helper.make_tensor_value_info("C", TensorProto.FLOAT, [n, n])])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = min(model.ir_version, 9)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        feeds = {"A": rng.standard_normal((n, n), dtype=np.float32), "B": rng.standard_normal((n, n), dtype=np.float32)}
        return lambda: sess.run(None, feeds)

    return _sweep(make, sizes, budget_s, "onnxruntime MatMul")


def stream_elements(llc_bytes: int | None, ram_bytes: int | None) -> int:
    """fp32 elements per STREAM array: at least 8x the last-level cache and 64 MiB, at most 1/16
    of the memory (three arrays live at once)."""
    want = max(64 * MiB, 8 * (llc_bytes or 0))
    if ram_bytes:
        want = min(want, max(16 * MiB, ram_bytes // 16))
    return want // 4


def bandwidth_torch(threads: int, elements: int, min_s: float = 0.4) -> dict[str, PeakFigure]:
    """STREAM copy and triad with torch on the CPU (threads as the run)."""
    import torch

    import numpy as np

    torch.set_num_threads(threads)
    # Allocated by numpy, which asks the kernel for transparent huge pages on large arrays (torch's
    # allocator does not): with 4 KiB pages a streaming loop is TLB-bound and reads ~30% low.
    a = torch.from_numpy(np.empty(elements, np.float32))
    b = torch.from_numpy(np.ones(elements, np.float32))
    c = torch.from_numpy(np.full(elements, 2.0, np.float32))
    nbytes = elements * 4
    mib = nbytes / MiB
    copy = rate_of(2 * nbytes, _repeat(lambda: a.copy_(b), min_s=min_s / 2, min_reps=5))
    triad = rate_of(3 * nbytes, _repeat(lambda: torch.add(b, c, alpha=3.0, out=a), min_s=min_s / 2, min_reps=5))
    return {
        "copy": copy.model_copy(update={"method": f"STREAM copy a=b, 3 x {mib:.0f} MiB fp32 arrays, 2 arrays counted, "
                                                  f"median of {copy.repeats}"}),
        "triad": triad.model_copy(update={"method": f"STREAM triad a=b+s*c (torch.add alpha), {mib:.0f} MiB fp32 "
                                                    f"arrays, 3 arrays counted, median of {triad.repeats}"}),
    }


def cuda_peaks(device: str, budget_s: float = 1.5) -> tuple[PeakFigure, dict[str, PeakFigure]]:
    """GEMM and copy/triad bandwidth on a CUDA device, timed with CUDA events."""
    import torch

    dev = torch.device(device)

    def timed(fn: Callable[[], Any]) -> Callable[[], Any]:
        def call() -> None:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            call.elapsed.append(start.elapsed_time(end) / 1e3)  # type: ignore[attr-defined]
        call.elapsed = []  # type: ignore[attr-defined]
        return call

    def event_times(fn: Callable[[], Any], min_s: float) -> list[float]:
        call = timed(fn)
        _repeat(call, min_s=min_s, min_reps=5)
        return call.elapsed[1:]  # type: ignore[attr-defined]  # the first call was the warm-up

    best: PeakFigure | None = None
    for n in (1024, 2048, 4096, 8192):
        a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
        fig = rate_of(2.0 * n ** 3, event_times(lambda: torch.mm(a, b), budget_s / 8))
        fig = fig.model_copy(update={"size": n, "method": f"torch.mm on {device}, {n}x{n} fp32 (TF32 as torch "
                                                         f"defaults), CUDA events, median of {fig.repeats}"})
        if best is None or fig.value > best.value:
            best = fig
    elements = 256 * MiB // 4
    x, y, z = torch.empty(elements, device=dev), torch.ones(elements, device=dev), torch.ones(elements, device=dev)
    nbytes = elements * 4
    copy = rate_of(2 * nbytes, event_times(lambda: x.copy_(y), budget_s / 4))
    triad = rate_of(3 * nbytes, event_times(lambda: torch.add(y, z, alpha=3.0, out=x), budget_s / 4))
    assert best is not None
    return best, {"copy": copy.model_copy(update={"method": f"copy on {device}, 256 MiB, CUDA events"}),
                  "triad": triad.model_copy(update={"method": f"triad on {device}, 256 MiB, CUDA events"})}


def measure_peaks(device: str = "cpu", threads: int = 1, *, budget_s: float = 3.0) -> DevicePeaks:
    """Measure a device's ceilings now (a few seconds)."""
    from suite.environment import collect_environment

    t0 = time.perf_counter()
    env = collect_environment()
    if device.startswith("cuda"):
        gemm, bandwidth = cuda_peaks(device, budget_s / 2)
        gemms = {"torch.mm": gemm}
    else:
        gemms = {"torch.mm": gemm_torch(threads, budget_s * 0.3)}
        try:
            gemms["onnxruntime.MatMul"] = gemm_ort(threads, budget_s * 0.3)
        except ImportError:
            pass
        bandwidth = bandwidth_torch(threads, stream_elements(last_level_cache_bytes(), env.ram_bytes),
                                    min_s=budget_s * 0.3)
    best = max(gemms.values(), key=lambda f: f.value)
    return DevicePeaks(
        device=device, threads=threads if not device.startswith("cuda") else None,
        gemm_flops_s=best.value, gemm=gemms, bandwidth_bytes_s=bandwidth["triad"].value, bandwidth=bandwidth,
        measured_at=utc_now(), duration_s=time.perf_counter() - t0, key=cache_key(device, threads),
    )


def last_level_cache_bytes(root: str = "/") -> int | None:
    """The largest CPU cache's size, from sysfs (`.../cpu0/cache/index*/size`, e.g. "32768K")."""
    base = Path(root, "sys/devices/system/cpu/cpu0/cache")
    sizes = []
    for index in sorted(base.glob("index*")):
        try:
            text = (index / "size").read_text().strip()
        except OSError:
            continue
        mult = {"K": 1024, "M": MiB, "G": 1024 * MiB}.get(text[-1:].upper(), 1)
        digits = text[:-1] if text[-1:].isalpha() else text
        if digits.isdigit():
            sizes.append(int(digits) * mult)
    return max(sizes) if sizes else None


# --------------------------------------------------------------------------- cache


def cache_key(device: str, threads: int) -> str:
    from suite.environment import collect_environment, package_versions

    env = collect_environment()
    versions = package_versions()
    payload = {
        "method": 2,  # bump when the measurement changes: cached figures of an older method are re-measured
        "host": env.hostname, "cpu": env.cpu_model, "machine": env.machine, "device": device,
        "threads": threads if not device.startswith("cuda") else None, "accelerators": env.accelerators,
        "torch": versions.get("torch"), "onnxruntime": versions.get("onnxruntime"), "numpy": versions.get("numpy"),
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def cache_dir() -> Path:
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "bench", "peaks")


def load_cached(device: str, threads: int) -> DevicePeaks | None:
    path = cache_dir() / f"{cache_key(device, threads)}.json"
    try:
        peaks = DevicePeaks.model_validate_json(path.read_bytes())
    except (OSError, ValueError):
        return None
    return peaks.model_copy(update={"cached": True})


def save_cached(peaks: DevicePeaks) -> None:
    folder = cache_dir()
    path = folder / f"{peaks.key}.json"
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(peaks.model_dump_json(indent=1))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home: measured again next time


def load_or_measure(device: str, threads: int, *, refresh: bool = False, budget_s: float = 3.0) -> DevicePeaks:
    if not refresh:
        cached = load_cached(device, threads)
        if cached is not None:
            return cached
    peaks = measure_peaks(device, threads, budget_s=budget_s)
    save_cached(peaks)
    return peaks


def _measure_in_worker(send: Callable[[Any], None], device: str, threads: int, refresh: bool) -> None:
    try:
        send(("ok", load_or_measure(device, threads, refresh=refresh).model_dump_json()))
    except Exception as exc:  # a peak that cannot be measured leaves the roofline without roofs
        send(("error", f"{type(exc).__name__}: {exc}"))


def peaks_in_worker(device: str, threads: int, *, refresh: bool = False, timeout_s: float = 120.0) -> DevicePeaks:
    """`load_or_measure` in a worker process (the parent of a run never imports torch), raising
    RuntimeError with the reason when it fails."""
    from suite.processes import run_isolated

    cached = None if refresh else load_cached(device, threads)
    if cached is not None:
        return cached
    out = run_isolated(_measure_in_worker, (device, threads, refresh), timeout_s, name="bench-peaks")
    for message in out.messages:
        if message[0] == "ok":
            return DevicePeaks.model_validate_json(message[1])
        if message[0] == "error":
            raise RuntimeError(message[1])
    raise RuntimeError("timed out" if out.timed_out else f"the worker exited ({out.exitcode})")
