"""OpenVINO (CPU plugin) as a backend, on the very ONNX graph ONNX Runtime runs: the cached export of
the case's model (suite/backends/ort/export.py, the [ort] section's exporter, opset and cache), or the
user's .onnx file.

What makes the comparison fair:

* same graph: OpenVINO reads the ONNX file ORT reads, reshaped to the case's static input shapes
  (what a deployment compiles), and runs it in fp32 (`INFERENCE_PRECISION_HINT` f32: on CPUs with
  bf16/AMX support the plugin would otherwise compute in bf16);
* same threads: `INFERENCE_NUM_THREADS` = the case's threads, the `LATENCY` performance hint (one
  stream, one synchronous request per call: the timed loop's pattern at every batch size, so the
  hint stays LATENCY at batch 1 and above);
* same inputs: numpy views of the case's tensors, made once, passed without a copy.

Nothing to quiesce: the plugin's pool (oneTBB) has no API to park it; the worker's settling waits
until no other thread runs (suite/metrics/settle.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suite.backends.ort.ort_backend import export_precheck, fp32_outputs, onnx_graph, ort_options
from suite.backends.parity import to_numpy
from suite.backends.protocol import BackendBase, PrepareRequest
from suite.errors import BenchError, CaseError
from suite.models.inputs import Array, Inputs
from suite.results.schema import ExportInfo, RuntimeSettings

DEVICE = "CPU"
# The properties the suite sets; every other one stays the plugin's default and is reported as read back.
REPORTED = ("INFERENCE_NUM_THREADS", "PERFORMANCE_HINT", "NUM_STREAMS", "INFERENCE_PRECISION_HINT",
            "EXECUTION_MODE_HINT", "ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING", "SCHEDULING_CORE_TYPE")


def config(threads: int) -> dict[str, str]:
    return {"INFERENCE_NUM_THREADS": str(threads), "PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32"}


def compile_graph(path: Path, inputs: Inputs, threads: int, extra: dict[str, object] | None = None) -> Any:
    """The graph read, reshaped to `inputs`' shapes and compiled for the CPU with the suite's properties
    (and `extra` ones: the profiler's PERF_COUNT) (Any: openvino.CompiledModel)."""
    import openvino as ov

    core = ov.Core()
    try:
        model = core.read_model(str(path))
        names = [p.get_any_name() for p in model.inputs]
        missing = [n for n in names if n not in inputs]
        if missing:
            raise CaseError("session", f"the graph needs input(s) {', '.join(missing)} that the input spec does not "
                            f"provide (it provides {', '.join(inputs) or 'none'})")
        model.reshape({n: list(inputs[n].shape) for n in names})
        return core.compile_model(model, DEVICE, {**config(threads), **(extra or {})})
    except CaseError:
        raise
    except Exception as exc:
        raise CaseError("session", f"OpenVINO could not compile {path.name} for this case's shapes: "
                        f"{type(exc).__name__}: {' '.join(str(exc).split())[:600]}") from exc


def feeds(compiled: Any, inputs: Inputs) -> dict[str, Array]:
    """numpy arrays in the graph's element types (zero-copy where they already are)."""
    import numpy as np

    out = {}
    for port in compiled.inputs:
        name = port.get_any_name()
        arr = to_numpy(inputs[name])
        want = port.get_element_type().to_dtype()
        out[name] = np.ascontiguousarray(arr if arr.dtype == want else arr.astype(want))
    return out


class OpenvinoBackend(BackendBase):
    name = "openvino"

    def __init__(self, compiled: Any, threads: int) -> None:
        super().__init__()
        self.compiled = compiled
        self.request = compiled.create_infer_request()
        self.threads = threads
        self._inputs: Inputs | None = None
        self._feeds: dict[str, Array] = {}
        self.fallback: Callable[[Inputs], tuple[str, list[Array]]] | None = None
        # the same graph compiled again with extra properties (Any: openvino.CompiledModel)
        self.recompile: Callable[[dict[str, object]], Any] | None = None

    def fallback_reference(self, inputs: Inputs) -> tuple[str, list[Array]] | None:
        return None if self.fallback is None else self.fallback(inputs)

    def run(self, inputs: Inputs) -> Any:  # Any: openvino's OVDict of outputs
        if self._inputs is not inputs:  # once per input dict, outside the timed loop
            self._feeds, self._inputs = feeds(self.compiled, inputs), inputs
        return self.request.infer(self._feeds, share_inputs=True, share_outputs=True)

    def profiled_op_events(self, inputs: Inputs, calls: int) -> tuple[str, list[tuple[str, str, list[float]]],
                                                                      list[float]]:
        """The plugin's performance counters (`PERF_COUNT`) on a second compiled model of the same graph and
        properties (the timed one untouched): one unprofiled call, then each node's time in each of `calls`
        calls (nodes fused away or not run are left out), and the calls' wall times (suite/profiling)."""
        import time

        import openvino as ov

        if self.recompile is None:
            raise CaseError("unsupported", "openvino: this compiled model cannot be recompiled for profiling")
        compiled = self.recompile({"PERF_COUNT": True})
        request = compiled.create_infer_request()
        data = feeds(compiled, inputs)
        request.infer(data)
        per_node: dict[tuple[str, str], list[float]] = {}
        walls = []
        for _ in range(calls):
            t0 = time.perf_counter_ns()
            request.infer(data)
            walls.append((time.perf_counter_ns() - t0) / 1e6)
            for p in request.get_profiling_info():
                if p.status == ov.ProfilingInfo.Status.EXECUTED:
                    key = (f"{p.node_type} ({p.exec_type})", p.node_name)
                    per_node.setdefault(key, []).append(p.real_time.total_seconds() * 1e3)
        events = [(op, node, times) for (op, node), times in per_node.items() if len(times) == calls]
        return "openvino perf counters", events, walls

    def outputs(self, inputs: Inputs) -> list[Array]:
        try:
            result = self.run(inputs)
        except Exception as exc:
            raise CaseError("session", f"OpenVINO failed running the model: {type(exc).__name__}: "
                            f"{' '.join(str(exc).split())[:600]}") from exc
        return [to_numpy(result[port]).copy() for port in self.compiled.outputs]

    def runtime_settings(self) -> RuntimeSettings:
        import openvino as ov

        settings = {"device": DEVICE}
        for name in REPORTED:
            with contextlib.suppress(Exception):
                value = str(self.compiled.get_property(name))
                settings[name] = value if name in config(self.threads) else f"{value} (plugin default)"
        settings["shapes"] = "static: the graph reshaped to the case's inputs before compiling"
        settings["call"] = "InferRequest.infer, synchronous, inputs and outputs shared (no copy)"
        return RuntimeSettings(runtime=f"openvino {ov.get_version()}", settings=settings)

    def close(self) -> None:
        self.request = self.compiled = None
        self._feeds, self._inputs = {}, None


def _check(req: PrepareRequest) -> None:
    if req.device != "cpu":
        raise BenchError(f"openvino runs on the CPU here (its CPU plugin); this case asks for {req.device}")


def precheck(req: PrepareRequest) -> None:
    """An ONNX export that failed before fails again at once, as it does for ORT."""
    _check(req)
    export_precheck(req, ort_options(req))


def prepare(req: PrepareRequest) -> OpenvinoBackend:
    _check(req)
    opts = ort_options(req)
    graph = onnx_graph(req, opts)
    backend = OpenvinoBackend(compile_graph(graph.path, req.inputs, req.threads), req.threads)
    backend.recompile = lambda extra: compile_graph(graph.path, req.inputs, req.threads, extra)
    backend.flags.extend(graph.notes)
    if req.model is None:  # an .onnx file has no eager model: checked against ONNX Runtime on the same file
        backend.fallback = lambda inputs: ("ort", fp32_outputs(req, opts, graph, inputs))
    backend.export = ExportInfo(exporter=graph.exporter, opset=graph.opset, providers=[f"OpenVINO {DEVICE}"],
                                cache_hit=graph.cache_hit, export_s=graph.export_s, path=str(graph.path))
    return backend


def bare(model: object, inputs: Inputs, threads: int, graph: str | None) -> Callable[[], object]:
    """OpenVINO's own plain calls (suite/run/bare.py): read_model, reshape to the inputs, compile_model
    with the suite's three properties (threads, the latency hint, fp32: the same function), one
    synchronous infer per call."""
    import openvino as ov

    if graph is None:
        raise BenchError("the OpenVINO bare loop needs the case's ONNX file")
    core = ov.Core()
    m = core.read_model(graph)
    m.reshape({p.get_any_name(): list(inputs[p.get_any_name()].shape) for p in m.inputs})
    compiled = core.compile_model(m, DEVICE, config(threads))
    request = compiled.create_infer_request()
    data = {p.get_any_name(): to_numpy(inputs[p.get_any_name()]) for p in compiled.inputs}
    return lambda: request.infer(data)
