"""Per-operator profiles (`bench run --profile`): a few forward calls after a case's timed loop and
energy window, in a window of their own, read into one format across backends (`ProfileResult`).

* eager and torch.compile: `torch.profiler` (CPU op time; CUDA kernel time on a GPU) around calls
  of the prepared backend, read from its Chrome trace (`traces.parse_torch_trace`);
* ORT and ORT int8: ONNX Runtime's own profiler on a *second* session made from the same graph and
  options (`OrtBackend.profiled_twin`; the timed session is never touched), its JSON trace read
  (`traces.parse_ort_trace`) and then deleted;
* ExecuTorch (executorch, executorch-int8): a *second* load of the case's program with ETDump on
  (`ExecutorchBackend.profiled_op_events`; the timed program is never touched), its events read by
  ExecuTorch's Inspector (XNNPACK reports each of its operators) and `traces.parse_etdump_events`;
* OpenVINO: its CPU plugin's performance counters (`PERF_COUNT`) on a second compiled model of the same
  graph and properties, per node and call (`OpenvinoBackend.profiled_op_events`, `traces.parse_op_events`);
* another backend (a plugin): not profiled, and the case says so.

Operator names are normalised into common families (`families.op_family`) so eager's and ORT's
tables line up; FLOPs come from the FLOP counter's `by_operator` for eager and from node shapes for ORT.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from suite.backends.ort.ort_api import Session
from suite.errors import CaseError
from suite.models.inputs import Inputs
from suite.profiling.families import op_family
from suite.profiling.traces import (
    CALL_MARK,
    OpEvent,
    ParsedTrace,
    TraceEvent,
    parse_etdump_events,
    parse_op_events,
    parse_ort_trace,
    parse_torch_trace,
)
from suite.results.flags import flag
from suite.results.schema import Flag, FlopStats, NodeProfile, OpProfile, ProfileResult


class ProfileConfig(BaseModel):
    """A per-operator profile of each case (`--profile`, `[profile]`): a few calls after the timed
    loop and the energy window (suite/profiling), never inside them."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # no inf/NaN: a NaN passes every `> 0` check

    enabled: bool = False
    calls: int = Field(default=10, ge=1, le=1000, description="forward calls profiled per case")
    top_nodes: int = Field(default=10, ge=0, le=100, description="slowest nodes (ORT) / call sites (eager) kept per case")

class ProfiledSession(Protocol):
    """A copy of a backend with its runtime's profiler on."""

    session: Session

    def run(self, inputs: Inputs) -> object: ...
    def close(self) -> None: ...


@runtime_checkable
class Twinned(Protocol):
    """A backend that can make a profiled copy of itself (ONNX Runtime's: OrtBackend.profiled_twin)."""

    def profiled_twin(self, prefix: str) -> ProfiledSession: ...


@runtime_checkable
class EventProfiled(Protocol):
    """A backend whose runtime records its own per-operator events (ExecuTorch's ETDump, OpenVINO's
    performance counters)."""

    def profiled_op_events(self, inputs: Inputs, calls: int) -> tuple[str, list[OpEvent], list[float]]:
        """(the profiler's name, (operator, node, its time in ms in each of `calls` profiled calls) in
        execution order, the calls' wall times in ms), from a profiled copy of the backend after one
        unprofiled call."""
        ...


# How each runtime's events are read (EventProfiled's profiler name -> parser).
EVENT_PARSERS: dict[str, Callable[[list[OpEvent], int], ParsedTrace]] = {
    "executorch etdump": parse_etdump_events, "openvino perf counters": parse_op_events}


class Runnable(Protocol):
    """What profiling needs of a prepared backend (suite.backends.protocol.Prepared)."""

    def run(self, inputs: Inputs) -> object: ...


# The FLOP counter's operators (suite.metrics.flops by_operator keys) and the top-level operators a
# model calls that run them, in order of preference.
FLOP_ROWS: dict[str, tuple[str, ...]] = {
    "aten.convolution": ("aten::conv2d", "aten::conv1d", "aten::conv3d", "aten::convolution", "aten::_convolution",
                         "aten::conv_transpose2d", "aten::conv_transpose1d", "aten::conv_transpose3d"),
    "aten.addmm": ("aten::linear", "aten::addmm"),
    "aten.mm": ("aten::linear", "aten::matmul", "aten::mm"),
    "aten.bmm": ("aten::matmul", "aten::bmm", "aten::einsum"),
    "aten.baddbmm": ("aten::baddbmm", "aten::matmul"),
    "aten._scaled_dot_product_flash_attention_for_cpu": ("aten::scaled_dot_product_attention",),
    "aten._scaled_dot_product_flash_attention": ("aten::scaled_dot_product_attention",),
    "aten._scaled_dot_product_efficient_attention": ("aten::scaled_dot_product_attention",),
}


def profile_case(prepared: Runnable, inputs: Inputs, *, calls: int, top_nodes: int = 10,
                 flops: FlopStats | None = None) -> ProfileResult:
    """Profile `calls` forward passes of a prepared backend (inside its context, after its timed
    loop). Raises CaseError("unsupported") for a backend with no profiler hook."""
    t0 = time.perf_counter()
    if isinstance(prepared, Twinned):  # has a profiled_twin
        profiler = "onnxruntime"
        parsed, walls = _profile_ort(prepared, inputs, calls)
    elif isinstance(prepared, EventProfiled):
        profiler, events, walls = prepared.profiled_op_events(inputs, calls)
        parsed = EVENT_PARSERS[profiler](events, calls)
    elif getattr(prepared, "model", None) is not None:
        profiler = "torch.profiler"
        cuda = str(getattr(prepared, "device", "cpu")).startswith("cuda")
        parsed, walls = _profile_torch(lambda: prepared.run(inputs), calls, cuda=cuda)
    else:
        raise CaseError("unsupported", f"not profiled: backend {getattr(prepared, 'name', '?')} has no profiler hook "
                                       "(eager, torch-compile, ort, ort-int8, executorch, executorch-int8 and openvino have)")
    return build_profile(parsed, profiler=profiler, walls_ms=walls, window_s=time.perf_counter() - t0,
                         top_nodes=top_nodes, flops=flops)


def _timed_calls(run: Callable[[], object], calls: int,
                 around: Callable[[], AbstractContextManager[object]] | None = None) -> list[float]:
    walls = []
    for _ in range(calls):
        with around() if around is not None else contextlib.nullcontext():
            t0 = time.perf_counter_ns()
            run()
            walls.append((time.perf_counter_ns() - t0) / 1e6)
    return walls


def _profile_torch(run: Callable[[], object], calls: int, cuda: bool) -> tuple[ParsedTrace, list[float]]:
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    with _quiet_stderr(), profile(activities=activities, record_shapes=True) as prof:
        # The first call under a fresh profiler is many times slower (its set-up): run it outside
        # the call ranges, which are all the trace reader counts.
        run()
        walls = _timed_calls(run, calls, around=lambda: record_function(CALL_MARK))
        if cuda:
            torch.cuda.synchronize()
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as d:
        path = Path(d) / "trace.json"
        prof.export_chrome_trace(str(path))
        trace = json.loads(path.read_text(encoding="utf-8"))
    return parse_torch_trace(trace), walls


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Kineto writes "profiler_start"/"profiler_stop" lines (and, without a GPU, a device-count
    error) straight to file descriptor 2, through the run's progress bar: send fd 2 to /dev/null
    while the profiler starts, runs and stops. Python-level errors still raise."""
    import os
    import sys

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2: nothing to protect
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _profile_ort(prepared: Twinned, inputs: Inputs, calls: int) -> tuple[ParsedTrace, list[float]]:
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as d:
        twin = prepared.profiled_twin(str(Path(d) / "ort"))
        try:
            twin.run(inputs)  # inputs bound or converted once, as in the timed run; a call like a warm-up one
            walls = _timed_calls(lambda: twin.run(inputs), calls)
            trace_path = Path(twin.session.end_profiling())
            events = json.loads(trace_path.read_text(encoding="utf-8"))
        finally:
            twin.close()
    # The first run (binding, first-call allocations) is in the trace: leave it out like the walls.
    parsed = parse_ort_trace(_drop_first_run(events))
    return parsed, walls


def _drop_first_run(events: list[TraceEvent]) -> list[TraceEvent]:
    runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
                  key=lambda e: e["ts"])
    if not runs:
        return events
    first = runs[0]
    end = first["ts"] + first["dur"]
    return [e for e in events if e is not first and not (e.get("cat") == "Node" and e.get("ts", 0) <= end)]


def build_profile(parsed: ParsedTrace, *, profiler: str, walls_ms: list[float] | None, window_s: float,
                  top_nodes: int = 10, flops: FlopStats | None = None) -> ProfileResult:
    """Per-forward figures from a parsed trace: totals divided by the number of profiled calls."""
    n = parsed.calls
    if n < 1:
        raise CaseError("unsupported", f"not profiled: the {profiler} trace holds no profiled call")
    per_call = {op: us / n / 1e3 for op, us in parsed.op_us.items()}
    total_ms = sum(per_call.values())
    op_flops = {op: f // n for op, f in parsed.op_flops.items()}
    if flops is not None and profiler == "torch.profiler":
        op_flops = eager_op_flops(flops.by_operator, parsed.op_calls)
    ops = [OpProfile(op=op, family=op_family(op), calls=parsed.op_calls.get(op, 0) / n, time_ms=ms,
                     share=ms / total_ms if total_ms > 0 else 0.0, flops=op_flops.get(op))
           for op, ms in per_call.items()]
    ops.sort(key=lambda o: (-o.time_ms, o.op))
    nodes = sorted(parsed.node_us.items(), key=lambda kv: (-kv[1], kv[0]))[:top_nodes]
    note = None
    unassigned = flops is not None and profiler == "torch.profiler" and \
        sum(op_flops.values()) < sum(flops.by_operator.values())
    if unassigned:
        note = "some counted FLOPs belong to no profiled top-level operator"
    call_op_ms = [us / 1e3 for us in parsed.call_us]
    walls = list(walls_ms) if walls_ms else call_op_ms
    if walls_ms and total_ms > statistics.fmean(walls) * 1.05:
        overlap = "the operators' times add up to more than a call's wall time: the runtime ran some of them concurrently"
        note = f"{note}; {overlap}" if note else overlap
    return ProfileResult(
        profiler=profiler, time_kind="cuda" if parsed.time_kind == "cuda" else "cpu", calls=n, op_time_ms=total_ms,
        wall_ms=statistics.fmean(walls) if walls else 0.0, call_op_ms=call_op_ms, call_wall_ms=walls,
        window_s=window_s, ops=ops,
        top_nodes=[NodeProfile(name=name, op=parsed.node_op[name], time_ms=us / n / 1e3) for name, us in nodes],
        note=note,
    )


def eager_op_flops(by_operator: dict[str, int], op_calls: dict[str, int]) -> dict[str, int]:
    """The FLOP counter's per-operator counts (one forward) put on the top-level operators that ran
    them (`FLOP_ROWS`), the first of its candidates that the profile holds."""
    out: dict[str, int] = {}
    for counted, n in by_operator.items():
        row = next((r for r in FLOP_ROWS.get(counted, ()) if r in op_calls), None)
        if row is not None:
            out[row] = out.get(row, 0) + int(n)
    return out


def profile_for_case(prepared: Runnable, inputs: Inputs, opts: ProfileConfig, flops: FlopStats | None) -> tuple[
        ProfileResult | None, list[Flag]]:
    """measure.py's hook: the profile under the case's `[profile]` options, or no profile and a
    flag saying why; a failing profiler never fails the case (its timings stand)."""
    try:
        return profile_case(prepared, inputs, calls=opts.calls, top_nodes=opts.top_nodes, flops=flops), []
    except Exception as exc:  # CaseError("unsupported") and anything a profiler raises
        text = str(exc) if isinstance(exc, CaseError) else f"not profiled: {type(exc).__name__}: {exc}"
        return None, [flag("profile_failed", text[:1000])]
