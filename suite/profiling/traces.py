"""Read profiler traces into per-operator totals: torch.profiler's Chrome trace (eager, torch.compile),
ONNX Runtime's JSON trace and ExecuTorch's ETDump events (as its Inspector gives them). Pure functions
over the parsed data: no torch, no onnxruntime, no executorch, so the CUDA path is tested on a
recorded trace where no GPU is present.

Both give a `ParsedTrace`: per operator the calls and total time over the profiled calls, per node
(ORT) or call site (eager) the total time, and each call's summed operator time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypedDict

CALL_MARK = "bench::profiled_call"  # the record_function range around each profiled eager call
GENERATED = "(generated code)"  # time inside a compiled region that no named operator accounts for
UNATTRIBUTED = "(kernels of no operator)"  # device kernels whose launching operator is not in the trace

# Ranges torch.compile and torch.profiler put around work: not operators, their children are.
_WRAPPER_PREFIXES = ("Torch-Compiled Region", "CompiledFunction", "## ", "TorchDynamo", "Pregraph bytecode",
                     "ProfilerStep", "torch_compile", "Lazy compilation", "AOTDispatcher")
_DEVICE_CATS = ("kernel", "gpu_memcpy", "gpu_memset")
_EPS_US = 1e-3


class TraceEvent(TypedDict, total=False):
    """One event of a profiler's JSON trace (the Chrome trace format, which ONNX Runtime's follows too),
    as parsed: the fields read here (a field a trace lacks is a KeyError where it is required)."""

    name: str
    cat: str
    ph: str
    ts: float  # microseconds
    dur: float
    tid: int | str
    args: dict[str, object]


@dataclass
class ParsedTrace:
    calls: int
    time_kind: str = "cpu"  # cpu | cuda
    op_calls: dict[str, int] = field(default_factory=dict)
    op_us: dict[str, float] = field(default_factory=dict)
    op_flops: dict[str, int] = field(default_factory=dict)  # over all calls, where shapes give them
    node_op: dict[str, str] = field(default_factory=dict)
    node_us: dict[str, float] = field(default_factory=dict)
    call_us: list[float] = field(default_factory=list)  # each call's summed operator time

    def add(self, op: str, node: str, us: float, call: int, flops: int | None = None, count: bool = True) -> None:
        if count:
            self.op_calls[op] = self.op_calls.get(op, 0) + 1
        self.op_us[op] = self.op_us.get(op, 0.0) + us
        if flops is not None:
            self.op_flops[op] = self.op_flops.get(op, 0) + flops
        self.node_op.setdefault(node, op)
        self.node_us[node] = self.node_us.get(node, 0.0) + us
        if 0 <= call < len(self.call_us):
            self.call_us[call] += us


# ----------------------------------------------------------------------------- torch.profiler


def _is_wrapper(ev: TraceEvent) -> bool:
    name = str(ev.get("name", ""))
    return ev.get("cat") == "user_annotation" or name.startswith(_WRAPPER_PREFIXES) or "::" not in name


def parse_torch_trace(trace: dict[str, list[TraceEvent]] | list[TraceEvent]) -> ParsedTrace:
    """Per-operator time from `torch.profiler`'s Chrome trace (`export_chrome_trace`).

    Each profiled call runs inside a `CALL_MARK` range. An operator's time is that of the *top-level*
    operator the model called (aten::conv2d with everything it dispatched to beneath it), so names
    are what the model calls and times add up to the call without double counting. Wrapper ranges
    (torch.compile's regions) are looked through: their operators count, and their own remaining
    time counts as `GENERATED`. With CUDA kernels in the trace, an operator's time is the device
    time of the kernels it launched (matched by the "External id" torch gives both), not its host time.
    """
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    spans = [e for e in events if e.get("ph") == "X" and isinstance(e.get("dur"), (int, float))]
    marks = sorted((e for e in spans if e.get("name") == CALL_MARK), key=lambda e: e["ts"])
    out = ParsedTrace(calls=len(marks), call_us=[0.0] * len(marks))
    if not marks:
        return out
    host = [e for e in spans if e.get("cat") in ("cpu_op", "user_annotation") and e.get("name") != CALL_MARK]
    kernels = [e for e in spans if e.get("cat") in _DEVICE_CATS]
    out.time_kind = "cuda" if kernels else "cpu"

    top_of: dict[object, tuple[str, str, int]] = {}  # External id -> (top op, its node, call index)
    for call, mark in enumerate(marks):
        start, end = mark["ts"], mark["ts"] + mark["dur"]
        tid = mark.get("tid")
        inside = sorted((e for e in host if e.get("tid") == tid and e["ts"] >= start - _EPS_US
                         and e["ts"] + e["dur"] <= end + _EPS_US), key=lambda e: (e["ts"], -e["dur"]))
        stack: list[tuple[TraceEvent, tuple[str, str] | None]] = []  # (event, its top op + node or None)
        wrapper_child_us: dict[int, float] = {}
        wrappers: list[TraceEvent] = []
        ordinal: dict[str, int] = {}
        for ev in inside:
            while stack and ev["ts"] >= stack[-1][0]["ts"] + stack[-1][0]["dur"] - _EPS_US:
                stack.pop()
            parent_top = next((t for _, t in reversed(stack) if t is not None), None)
            if parent_top is None and _is_wrapper(ev):
                wrappers.append(ev)
                if stack:
                    wrapper_child_us[id(stack[-1][0])] = wrapper_child_us.get(id(stack[-1][0]), 0.0) + ev["dur"]
                stack.append((ev, None))
                continue
            if parent_top is None:  # a top-level operator
                op = str(ev["name"])
                ordinal[op] = ordinal.get(op, 0) + 1
                node = f"{op} #{ordinal[op]}" + _dims(ev)
                if stack:
                    wrapper_child_us[id(stack[-1][0])] = wrapper_child_us.get(id(stack[-1][0]), 0.0) + ev["dur"]
                if out.time_kind == "cpu":
                    out.add(op, node, float(ev["dur"]), call)
                else:
                    out.add(op, node, 0.0, call)
                top = (op, node)
            else:
                top = parent_top
            ext = (ev.get("args") or {}).get("External id")
            if ext is not None:
                top_of[ext] = (top[0], top[1], call)
            stack.append((ev, top))
        if out.time_kind == "cpu":
            for w in wrappers:  # what a compiled region spent outside any named operator
                own = w["dur"] - wrapper_child_us.get(id(w), 0.0)
                if own > _EPS_US and not str(w.get("name", "")).startswith("ProfilerStep"):
                    out.add(GENERATED, GENERATED, own, call, count=False)
    for k in kernels:
        ext = (k.get("args") or {}).get("External id")
        hit = top_of.get(ext)
        if hit is None:
            op, node, call = UNATTRIBUTED, UNATTRIBUTED, _call_at(marks, k)
        else:
            op, node, call = hit
        out.add(op, node, float(k["dur"]), call, count=False)
    return out


def _call_at(marks: list[TraceEvent], ev: TraceEvent) -> int:
    for i, m in enumerate(marks):
        if m["ts"] <= ev["ts"] <= m["ts"] + m["dur"]:
            return i
    return -1  # a kernel that ran after its call's range closed: counted for the op, not for a call


def _dims(ev: TraceEvent) -> str:
    dims = (ev.get("args") or {}).get("Input Dims")
    if isinstance(dims, list) and dims and isinstance(dims[0], list) and dims[0]:
        return " " + "x".join(str(d) for d in dims[0])
    return ""


# ----------------------------------------------------------------------------- ONNX Runtime

_KERNEL_SUFFIX = "_kernel_time"


def parse_ort_trace(events: list[TraceEvent]) -> ParsedTrace:
    """Per-operator time from ONNX Runtime's profile (`SessionOptions.enable_profiling`): the
    `cat == "Node"` events ending in `_kernel_time`, each with `args.op_name` and `dur` in
    microseconds, grouped into calls by the session's `model_run` events. A node the NCHWc layout
    transformer produced (its name ends in `_nchwc`) is shown as "Conv (NCHWc)": ORT has folded the
    batch norm, activation and residual add into it."""
    runs = sorted((e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"),
                  key=lambda e: e["ts"])
    out = ParsedTrace(calls=len(runs), call_us=[0.0] * len(runs))
    for ev in events:
        name = str(ev.get("name", ""))
        if ev.get("cat") != "Node" or not name.endswith(_KERNEL_SUFFIX):
            continue
        args = ev.get("args") or {}
        node = name[: -len(_KERNEL_SUFFIX)]
        op = str(args.get("op_name") or "?")
        if node.endswith("_nchwc"):
            op = f"{op} (NCHWc)"
        call = next((i for i, r in enumerate(runs) if r["ts"] - _EPS_US <= ev["ts"] <= r["ts"] + r["dur"] + _EPS_US), -1)
        out.add(op, node, float(ev.get("dur", 0.0)), call, flops=node_flops(op, args))
    return out


def _shapes(items: object) -> list[list[int]]:
    shapes: list[list[int]] = []
    for item in items if isinstance(items, Iterable) else []:
        if isinstance(item, dict) and item:
            dims = next(iter(item.values()))
            if isinstance(dims, list) and all(isinstance(d, int) for d in dims):
                shapes.append(dims)
                continue
        shapes.append([])
    return shapes


def node_flops(op: str, args: Mapping[str, object]) -> int | None:
    """FLOPs (2 x MACs, as torch's counter) of one ORT node from the shapes in its trace event:
    convolutions 2 x output elements x (weight elements / output channels), Gemm 2 x M x N x K,
    MatMul 2 x output elements x K. None for other operators (not counted, as in torch's counter).
    An NCHWc convolution's shapes have the channels padded to the SIMD block (8 or 16): its FLOPs
    are the work ORT did, above the model's own count when a layer's channels are not a multiple."""
    base = op.split(" ", 1)[0]
    ins, outs = _shapes(args.get("input_type_shape")), _shapes(args.get("output_type_shape"))
    if not ins or not outs or not outs[0]:
        return None
    out_n = math.prod(outs[0])
    if base in ("Conv", "FusedConv", "NhwcFusedConv", "NhwcConv", "ConvInteger") and len(ins) >= 2 and ins[1]:
        w = ins[1]
        return 2 * out_n * (math.prod(w) // w[0]) if w[0] else None
    if base in ("Gemm", "FusedGemm") and ins[0] and outs[0][0]:
        k = math.prod(ins[0]) // outs[0][0]
        return 2 * out_n * k
    if base in ("MatMul", "FusedMatMul", "MatMulInteger", "DynamicQuantizeMatMul") and ins[0]:
        return 2 * out_n * ins[0][-1]
    return None


# ----------------------------------------------------------------------------- ExecuTorch ETDump

# The runtime's own ranges around work: not operators. A delegate call's time beyond its operators'
# is the delegate's own (DELEGATE_OVERHEAD); a portable operator's OPERATOR_CALL wraps its native_call.
ET_WRAPPERS = ("Method::execute", "OPERATOR_CALL", "DELEGATE_CALL", "Method::init", "Program::load_method")
DELEGATE_OVERHEAD = "(delegate, outside its operators)"
_INSTANCE = re.compile(r"\s+#\d+$")  # XNNPACK numbers each operator instance: "Convolution (NHWC, F32) IGEMM #3"


def et_op_name(event: str) -> str:
    """`Convolution (NHWC, F32) IGEMM #3` -> `Convolution (NHWC, F32) IGEMM`; `native_call_cumsum.out`
    (a portable kernel) -> `native_call_cumsum.out`."""
    return _INSTANCE.sub("", event)


OpEvent = tuple[str, str, Sequence[float]]  # (operator, node, its time in ms in each profiled call)


def parse_op_events(events: Iterable[OpEvent], calls: int) -> ParsedTrace:
    """Per-operator time from a runtime's own per-node counters, one event per node and its time in
    each profiled call (OpenVINO's `InferRequest.get_profiling_info`)."""
    out = ParsedTrace(calls=calls, call_us=[0.0] * calls)
    for op, node, per_call in events:
        for call, ms in enumerate(list(per_call)[:calls]):
            out.add(op, node, max(float(ms), 0.0) * 1e3, call)
    return out


def parse_etdump_events(events: Sequence[OpEvent], calls: int) -> ParsedTrace:
    """Per-operator time from ExecuTorch's ETDump, read by its Inspector: the "Execute" block's events
    in order (the event's name as node; the operator is derived from it), each with its per-call times in ms (`perf_data.raw`, one per profiled call). An event ends
    before the range around it: a delegate's operators (XNNPACK's, by instance) come before their
    DELEGATE_CALL, a portable kernel (`native_call_...`) before its OPERATOR_CALL. Operators and portable
    kernels count; each DELEGATE_CALL's time beyond its operators counts as DELEGATE_OVERHEAD; the other
    wrappers do not count."""
    out = ParsedTrace(calls=calls, call_us=[0.0] * calls)
    inside = [0.0] * calls  # operator time since the last delegate call, per call
    for _, name, per_call in events:
        times = [max(float(ms), 0.0) * 1e3 for ms in list(per_call)[:calls]]
        if name == "DELEGATE_CALL":
            for call, us in enumerate(times):
                out.add(DELEGATE_OVERHEAD, DELEGATE_OVERHEAD, max(us - inside[call], 0.0), call)
            inside = [0.0] * calls
            continue
        if name in ET_WRAPPERS:
            if name == "OPERATOR_CALL":  # it closes the portable kernel before it: not a delegate's operator
                inside = [0.0] * calls
            continue
        op = et_op_name(name)
        for call, us in enumerate(times):
            out.add(op, name, us, call)
            inside[call] += us
    return out
