"""Measured ceilings of a device: sustained fp32 GEMM FLOP/s and sustained memory bandwidth.

What the roofline of every case is drawn against (suite.metrics.roofline). Measured, not taken
from a data sheet, with the run's thread count:

* compute: square fp32 matrix products over a size sweep, with torch (`torch.mm`) and with ONNX
  Runtime (a one-node `MatMul` graph); each size repeated until its share of the budget has
  passed, its rate that of the fastest call (STREAM's and HPL's convention: every call is a whole
  sustained product, and on a shared machine the slower calls measure the neighbours, not the
  device; the median call's rate is kept beside it); the peak is the best size of the best engine.
  The sweep stops before a size whose single call, predicted from the last (n^3), would take more
  than a quarter of the budget, so a Raspberry Pi spends seconds, not minutes.
* memory: STREAM's copy (a = b: 2 arrays moved) and triad (a = b + s*c: 3 arrays) over arrays far
  larger than the last-level cache, bytes counted the STREAM way (no write-allocate traffic), the
  rate of the fastest pass as STREAM's "Best Rate"; ONNX Runtime's Add moves the same bytes as
  the triad, and the bandwidth roof is the faster of the two (as the GEMM roof is the faster engine).
* on CUDA the same with CUDA events, on the GPU's memory.

Each figure keeps its spread (relative IQR of its repeats) and how it was obtained. Results are
cached per machine + device + threads + library versions (`load_or_measure`), since a device's
ceilings do not change between runs.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, TypedDict

from suite.backends.ort.ort_api import Session
from suite.machine.environment import collect_environment, package_versions
from suite.results.ceilings import (
    BANDWIDTH_ROOF_KERNELS,
)
from suite.results.schema import DevicePeaks, PeakFigure, utc_now

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt
    import onnx
    import torch
    from typing_extensions import Unpack

GEMM_SIZES = (256, 512, 1024, 2048)
# Part of the cache key: bump it when what a figure means changes, so no cached ceiling measured
# the old way is read as a new one (2: median calls on huge-page arrays; 3: the fastest call,
# ONNX Runtime's add beside torch's triad).
METHOD_VERSION = 3
MiB = 1024 * 1024


def rate_of(work: float, times_s: list[float]) -> PeakFigure:
    """A ceiling from repeated timings of the same `work` (FLOPs or bytes): the fastest call's rate
    (STREAM's "Best Rate"; each call is a whole sustained pass), the median call's rate beside it,
    and the spread of the calls (IQR / median of the times)."""
    med = statistics.median(times_s)
    if len(times_s) >= 4:
        q = statistics.quantiles(times_s, n=4)
        spread = (q[2] - q[0]) / med
    else:
        spread = (max(times_s) - min(times_s)) / med
    return PeakFigure(value=work / min(times_s), median_value=work / med, spread=spread, repeats=len(times_s),
                      method="")


Between = Callable[[], object] | None  # run after each timed call, outside its time (tests time a reference there)


def _repeat(fn: Callable[[], object], min_s: float, min_reps: int = 3, max_reps: int = 200,
            timer: Callable[[], float] = time.perf_counter, between: Between = None) -> list[float]:
    fn()  # warm: first-touch pages, kernel selection
    times: list[float] = []
    start = timer()
    while len(times) < max_reps and (len(times) < min_reps or timer() - start < min_s):
        t0 = timer()
        fn()
        times.append(timer() - t0)
        if between is not None:
            between()
    return times


def _sweep(make: Callable[[int], Callable[[], object]], sizes: tuple[int, ...], budget_s: float,
           label: str, timer: Callable[[], float] = time.perf_counter, between: Between = None) -> PeakFigure:
    """The best sustained GEMM rate over `sizes` (ascending; each given ~budget/len(sizes) seconds).

    The sweep stops before a size whose single call, predicted from the last size's fastest (n^3),
    would take more than a quarter of the budget, so a slow board never starts a product it cannot
    repeat in time: the cost stays within a few budgets whatever the device."""
    best: PeakFigure | None = None
    per_size = budget_s / len(sizes)
    for i, n in enumerate(sizes):
        fn = make(n)
        fig = rate_of(2.0 * n ** 3, _repeat(fn, min_s=per_size, timer=timer, between=between))
        fig = fig.model_copy(update={"size": n, "method": f"{label}, {n}x{n} fp32, fastest of {fig.repeats} calls"})
        if best is None or fig.value > best.value:
            best = fig
        # predicted from this size's fastest call: one call slowed by a neighbour must not end the sweep
        if i + 1 < len(sizes) and 2.0 * sizes[i + 1] ** 3 / fig.value > budget_s / 4:
            break
    assert best is not None
    return best


def gemm_torch(threads: int, budget_s: float = 1.2, sizes: tuple[int, ...] = GEMM_SIZES,
               between: Between = None) -> PeakFigure:
    import torch

    torch.set_num_threads(threads)

    def make(n: int) -> Callable[[], object]:
        g = torch.Generator().manual_seed(0)
        a, b = torch.randn(n, n, generator=g), torch.randn(n, n, generator=g)
        out = torch.empty(n, n)
        return lambda: torch.mm(a, b, out=out)

    with torch.inference_mode():
        return _sweep(make, sizes, budget_s, "torch.mm", between=between)


def gemm_ort(threads: int, budget_s: float = 1.2, sizes: tuple[int, ...] = GEMM_SIZES,
             between: Between = None) -> PeakFigure:
    import numpy as np
    from onnx import TensorProto, helper

    def make(n: int) -> Callable[[], object]:
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["A", "B"], ["C"])], "gemm",
            [helper.make_tensor_value_info("A", TensorProto.FLOAT, [n, n]),
             helper.make_tensor_value_info("B", TensorProto.FLOAT, [n, n])],
            [helper.make_tensor_value_info("C", TensorProto.FLOAT, [n, n])])
        sess = _one_node_session(graph, threads)
        rng = np.random.default_rng(0)
        feeds = {"A": rng.standard_normal((n, n), dtype=np.float32), "B": rng.standard_normal((n, n), dtype=np.float32)}
        return lambda: sess.run(None, feeds)

    return _sweep(make, sizes, budget_s, "onnxruntime MatMul", between=between)


def _one_node_session(graph: onnx.GraphProto, threads: int) -> Session:
    """An ONNX Runtime CPU session of a one-node graph (the GEMM and STREAM kernels), `threads`
    intra-op threads, no inter-op parallelism."""
    import onnxruntime as ort
    from onnx import helper

    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = min(model.ir_version, 9)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    session: Session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return session


def stream_elements(llc_bytes: int | None, ram_bytes: int | None) -> int:
    """fp32 elements per STREAM array: at least 8x the last-level cache and 64 MiB, at most 1/16
    of the memory (three arrays live at once)."""
    want = max(64 * MiB, 8 * (llc_bytes or 0))
    if ram_bytes:
        want = min(want, max(16 * MiB, ram_bytes // 16))
    return want // 4


# (a, b, c): fp32 numpy arrays of one length; a is written
StreamArrays: TypeAlias = "tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]"


def stream_arrays(elements: int) -> StreamArrays:
    """STREAM's three arrays (a written, b = 1, c = 2), allocated by numpy: its allocator advises
    transparent huge pages for large arrays (MADV_HUGEPAGE: honoured where THP is "madvise", the
    common default) and torch's does not; on 4 KiB pages the streams pay a TLB miss per page,
    which cost a single thread 15-25% of its bandwidth here."""
    import numpy as np

    return np.empty(elements, np.float32), np.ones(elements, np.float32), np.full(elements, 2.0, np.float32)


def bandwidth_torch(threads: int, arrays: StreamArrays, min_s: float = 0.4,
                    between: dict[str, Callable[[], object]] | None = None) -> dict[str, PeakFigure]:
    """STREAM copy and triad with torch on the CPU (threads as the run) over `arrays`; `between`
    maps a kernel name to what runs after each of its timed calls (a test's interleaved reference)."""
    between = between or {}
    import torch

    torch.set_num_threads(threads)
    a, b, c = (torch.from_numpy(x) for x in arrays)  # views: the same pages
    nbytes = a.numel() * 4
    mib = nbytes / MiB
    copy = rate_of(2 * nbytes, _repeat(lambda: a.copy_(b), min_s=min_s / 2, min_reps=5, between=between.get("copy")))
    triad = rate_of(3 * nbytes, _repeat(lambda: torch.add(b, c, alpha=3.0, out=a), min_s=min_s / 2, min_reps=5,
                                        between=between.get("triad")))
    return {
        "copy": copy.model_copy(update={"method": f"STREAM copy a=b, 3 x {mib:.0f} MiB fp32 arrays, 2 arrays counted, "
                                                  f"fastest of {copy.repeats}"}),
        "triad": triad.model_copy(update={"method": f"STREAM triad a=b+s*c (torch.add alpha), {mib:.0f} MiB fp32 "
                                                    f"arrays, 3 arrays counted, fastest of {triad.repeats}"}),
    }


def bandwidth_ort(threads: int, arrays: StreamArrays, min_s: float = 0.2, between: Between = None) -> PeakFigure:
    """STREAM's Add (a = b + c: the triad's bytes, 2 arrays read and 1 written) as a one-node ONNX
    Runtime graph over `arrays`, its output bound to `a` (IO binding: no allocation per call)."""
    import numpy as np
    from onnx import TensorProto, helper

    a, b, c = arrays
    elements = a.size
    graph = helper.make_graph(
        [helper.make_node("Add", ["B", "C"], ["A"])], "stream_add",
        [helper.make_tensor_value_info("B", TensorProto.FLOAT, [elements]),
         helper.make_tensor_value_info("C", TensorProto.FLOAT, [elements])],
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [elements])])
    sess = _one_node_session(graph, threads)
    io = sess.io_binding()
    io.bind_cpu_input("B", b)
    io.bind_cpu_input("C", c)
    io.bind_output("A", "cpu", 0, np.float32, [elements], a.ctypes.data)
    fig = rate_of(3 * elements * 4, _repeat(lambda: sess.run_with_iobinding(io), min_s=min_s, min_reps=5,
                                            between=between))
    return fig.model_copy(update={"method": f"STREAM add a=b+c (onnxruntime Add, IO binding), {elements * 4 / MiB:.0f} "
                                            f"MiB fp32 arrays, 3 arrays counted, fastest of {fig.repeats}"})


def bandwidth_cpu(threads: int, arrays: StreamArrays, min_s: float = 0.6,
                  between: dict[str, Callable[[], object]] | None = None) -> dict[str, PeakFigure]:
    """STREAM copy and triad with torch and STREAM add with ONNX Runtime (when installed), all over
    the same three arrays (`stream_arrays`), so no engine is faster only because its pages were:
    the engines' kernels differ by 10-25% on one thread here, and the roof is what the device can do."""
    between = between or {}
    figs = bandwidth_torch(threads, arrays, min_s * 2 / 3, between)
    try:
        figs["onnxruntime.Add"] = bandwidth_ort(threads, arrays, min_s / 3, between.get("onnxruntime.Add"))
    except ImportError:
        pass
    return figs




def bandwidth_roof(figs: dict[str, PeakFigure]) -> float:
    """The memory roof: the fastest of the kernels that move a triad's bytes."""
    return max(figs[k].value for k in BANDWIDTH_ROOF_KERNELS if k in figs)


CUDA_GEMM_SIZES = (1024, 2048, 4096, 8192)
CUDA_STREAM_BYTES = 256 * MiB

# time_call(label, fn) -> seconds one call of fn took on the device; label names the kernel
# ("gemm 4096", "copy", "triad") so recorded timings can be replayed where no GPU is present.
TimeCall = Callable[[str, Callable[[], object]], float]


def cuda_event_seconds(label: str, fn: Callable[[], object]) -> float:
    """One call of `fn` timed on the GPU by CUDA events recorded around it."""
    import torch

    # torch.cuda.Event's constructor is unannotated
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)  # type: ignore[no-untyped-call]
    start.record()
    fn()
    end.record()
    end.synchronize()
    milliseconds: float = start.elapsed_time(end)
    return milliseconds / 1e3


def device_times(label: str, fn: Callable[[], object], min_s: float, time_call: TimeCall, min_reps: int = 5,
                 max_reps: int = 200) -> list[float]:
    """Device times of repeated calls after one warm-up call, until `min_s` of device time and
    `min_reps` calls (device time, not wall time: the loop is the same when timings are replayed)."""
    time_call(label, fn)  # warm-up: kernel selection, first touch; not kept
    times: list[float] = []
    while len(times) < max_reps and (len(times) < min_reps or sum(times) < min_s):
        times.append(time_call(label, fn))
    return times


def cuda_peaks(device: str, budget_s: float = 1.5, *, time_call: TimeCall = cuda_event_seconds,
               sizes: tuple[int, ...] = CUDA_GEMM_SIZES, stream_bytes: int = CUDA_STREAM_BYTES,
               tensors_on: str | None = None) -> tuple[PeakFigure, dict[str, PeakFigure]]:
    """GEMM and copy/triad bandwidth on a CUDA device, timed with CUDA events.

    `tensors_on` (default: `device`) is where the operands live; tests replay recorded event
    timings through `time_call` with the operands on the meta device, since no GPU is present there."""
    import contextlib

    import torch

    dev = torch.device(tensors_on or device)
    # CUDA events record on the current device's stream: make the measured device the current one.
    with torch.cuda.device(dev) if dev.type == "cuda" else contextlib.nullcontext():
        return _cuda_peaks(device, dev, budget_s, time_call, sizes, stream_bytes)


def _cuda_peaks(device: str, dev: torch.device, budget_s: float, time_call: TimeCall, sizes: tuple[int, ...],
                stream_bytes: int) -> tuple[PeakFigure, dict[str, PeakFigure]]:
    import torch

    precision = torch.get_float32_matmul_precision()  # "highest": true fp32; "high": TF32 allowed
    best: PeakFigure | None = None
    for n in sizes:
        a, b = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
        fig = rate_of(2.0 * n ** 3, device_times(f"gemm {n}", partial(torch.mm, a, b), budget_s / (2 * len(sizes)),
                                                 time_call))
        fig = fig.model_copy(update={"size": n, "method": f"torch.mm on {device}, {n}x{n} fp32 (float32 matmul "
                                                         f"precision {precision!r}), CUDA events, fastest of "
                                                         f"{fig.repeats}"})
        if best is None or fig.value > best.value:
            best = fig
    elements = stream_bytes // 4
    x, y, z = torch.empty(elements, device=dev), torch.ones(elements, device=dev), torch.ones(elements, device=dev)
    nbytes = elements * 4
    copy = rate_of(2 * nbytes, device_times("copy", lambda: x.copy_(y), budget_s / 4, time_call))
    triad = rate_of(3 * nbytes, device_times("triad", lambda: torch.add(y, z, alpha=3.0, out=x), budget_s / 4,
                                             time_call))
    mib = nbytes / MiB
    assert best is not None
    return best, {
        "copy": copy.model_copy(update={"method": f"STREAM copy on {device}, {mib:.0f} MiB fp32 arrays, 2 arrays "
                                                  f"counted, CUDA events, fastest of {copy.repeats}"}),
        "triad": triad.model_copy(update={"method": f"STREAM triad on {device}, {mib:.0f} MiB fp32 arrays, 3 arrays "
                                                    f"counted, CUDA events, fastest of {triad.repeats}"}),
    }


class CudaOptions(TypedDict, total=False):
    """`cuda_peaks`' keywords that `measure_peaks` passes on (tests replay recorded timings)."""

    sizes: tuple[int, ...]
    stream_bytes: int
    tensors_on: str | None


def measure_peaks(device: str = "cpu", threads: int = 1, *, budget_s: float = 3.0,
                  time_call: TimeCall | None = None, **cuda_options: Unpack[CudaOptions]) -> DevicePeaks:
    """Measure a device's ceilings now (a few seconds). On CUDA, `time_call` and `cuda_options`
    go to `cuda_peaks` (recorded timings in tests)."""
    t0 = time.perf_counter()
    if device.startswith("cuda"):
        if time_call is None:
            _require_cuda(device)
        gemm, bandwidth = cuda_peaks(device, budget_s / 2, time_call=time_call or cuda_event_seconds,
                                     **cuda_options)
        gemms = {"torch.mm": gemm}
    else:
        gemms = {"torch.mm": gemm_torch(threads, budget_s * 0.3)}
        try:
            gemms["onnxruntime.MatMul"] = gemm_ort(threads, budget_s * 0.3)
        except ImportError:
            pass
        elements = stream_elements(last_level_cache_bytes(), collect_environment().ram_bytes)
        bandwidth = bandwidth_cpu(threads, stream_arrays(elements), min_s=budget_s * 0.3)
    best = max(gemms.values(), key=lambda f: f.value)
    return DevicePeaks(
        device=device, threads=threads if not device.startswith("cuda") else None,
        gemm_flops_s=best.value, gemm=gemms, bandwidth_bytes_s=bandwidth_roof(bandwidth), bandwidth=bandwidth,
        measured_at=utc_now(), duration_s=time.perf_counter() - t0, key=cache_key(device, threads),
    )


def _require_cuda(device: str) -> None:
    import torch

    index = int(device.partition(":")[2] or 0)
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if index >= count:
        raise RuntimeError(f"no CUDA device here for {device} (torch {torch.__version__} sees {count})")
    index = int(device.split(":", 1)[1]) if ":" in device else 0
    if index >= torch.cuda.device_count():
        raise RuntimeError(f"{device}: this machine has {torch.cuda.device_count()} CUDA device(s)")


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

def cache_key(device: str, threads: int) -> str:
    env = collect_environment()
    versions = package_versions()
    payload = {
        "method": METHOD_VERSION, "host": env.hostname, "cpu": env.cpu_model, "machine": env.machine, "device": device,
        "threads": threads if not device.startswith("cuda") else None, "accelerators": env.accelerators,
        "torch": versions.get("torch"), "onnxruntime": versions.get("onnxruntime"), "numpy": versions.get("numpy"),
    }
    return hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]
