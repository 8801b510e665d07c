"""ONNX Runtime: export once (cached), open a session timed like eager, check parity.

`prepare(req)` ("ort") and `prepare_int8(req)` ("ort-int8") return a Prepared whose
`run(inputs)` is one `InferenceSession.run`, timed by the same loop as eager. What makes
the comparison fair:

* same inputs: the case's seeded tensors, passed as zero-copy numpy views (CPU) or bound
  on the device (GPU IO binding), converted once, outside the timed loop;
* same threads: `intra_op_num_threads` = the case's torch threads, one inter-op thread,
  sequential execution (torch eager runs ops one after another too);
* same function: before anything is timed, eager and ORT run the same inputs and the
  error relative to the output's scale is recorded (`parity`, the generic step in
  `suite.backends.prepare_backend`); measure.py marks the case `parity_failed` when it is
  above tolerance.

Failures become `CaseError`s (kind export / unsupported / session / parity) that measure.py
records as failed cases; a bad configuration is a `BenchError`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.backends.ort import cache
from suite.backends.ort.export import (
    EXAMPLE_BATCH,
    cached_export,
    case_size,
    ensure_export,
    example_size,
    export_key,
    read_opset,
)
from suite.backends.ort.ort_options import OrtOptions
from suite.backends.ort.quantize import (
    file_cache_folder,
    int8_tolerance,
    quantize_in_folder,
)
from suite.backends.parity import to_numpy
from suite.backends.protocol import BackendBase, PrepareRequest
from suite.errors import BenchError, CaseError
from suite.results.schema import ExportInfo, RuntimeSettings

if TYPE_CHECKING:
    from suite.backends.ort.export import ExportKey

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
XNNPACK = "XNNPACKExecutionProvider"
GPU_PROVIDERS = (TENSORRT, CUDA)
# Preference order when nothing is requested. Azure (a remote-inference shim in the stock
# wheel) and other special-purpose providers are never picked on their own.
AUTO_GPU = (TENSORRT, CUDA, CPU)
AUTO_CPU = (XNNPACK, CPU)
ALIASES = {"cpu": CPU, "cuda": CUDA, "tensorrt": TENSORRT, "trt": TENSORRT, "xnnpack": XNNPACK}
OPT_LEVELS = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
              "all": "ORT_ENABLE_ALL"}
_NP_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(float16)": "float16",
             "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int16)": "int16", "tensor(int8)": "int8",
             "tensor(uint8)": "uint8", "tensor(bool)": "bool"}


# --------------------------------------------------------------------------- providers


def resolve_provider_name(name: str) -> str:
    return ALIASES.get(name.strip().lower(), name.strip())


def choose_providers(device: str, available: Sequence[str], requested: Sequence[str] | None = None) -> list[str]:
    """The providers to ask for, best first, CPU always last as the fallback for ops a
    faster provider does not cover. `requested` names must all be available."""
    avail = list(available)
    gpu = device.startswith("cuda")
    if requested:
        chosen = [resolve_provider_name(p) for p in requested]
        missing = [p for p in chosen if p not in avail]
        if missing:
            raise BenchError(f"ONNX Runtime provider(s) {', '.join(missing)} are not available in this onnxruntime "
                             f"build; it offers: {', '.join(avail)}")
        if gpu and not any(p in GPU_PROVIDERS for p in chosen):
            raise BenchError(f"device is {device} but ort.providers ({', '.join(chosen)}) names no GPU provider "
                             f"({' or '.join(GPU_PROVIDERS)})")
    else:
        chosen = [p for p in (AUTO_GPU if gpu else AUTO_CPU) if p in avail]
        if gpu and not any(p in GPU_PROVIDERS for p in chosen):
            raise BenchError(f"device is {device} but this onnxruntime has no GPU provider (it offers "
                             f"{', '.join(avail)}); install onnxruntime-gpu (or the Jetson wheel) or run with --device cpu")
    chosen = list(dict.fromkeys(chosen))
    if CPU in avail and CPU not in chosen:
        chosen.append(CPU)
    return chosen


def provider_options(name: str, device: str, threads: int, cache_root: Path) -> dict[str, Any]:
    device_id = device_index(device)
    if name == CUDA:
        return {"device_id": device_id}
    if name == TENSORRT:
        # Engines take minutes to build: keep them beside the exports.
        return {"device_id": device_id, "trt_engine_cache_enable": True,
                "trt_engine_cache_path": str(cache_root / "tensorrt")}
    if name == XNNPACK:
        return {"intra_op_num_threads": threads}
    return {}


def device_index(device: str) -> int:
    _, _, idx = device.partition(":")
    return int(idx) if idx.isdigit() else 0


SPINNING = "session.intra_op.allow_spinning"


def config_entries(providers: Sequence[str]) -> dict[str, str]:
    """The session config entries the suite sets; every other one keeps ORT's default."""
    if XNNPACK in providers:
        # XNNPACK runs its own thread pool; ORT's spinning pool beside it steals its cores
        # (ORT's XNNPACK guide recommends turning spinning off).
        return {SPINNING: "0"}
    return {}


def session_options(threads: int, level: str, providers: Sequence[str]) -> Any:
    import onnxruntime as ort

    if level not in OPT_LEVELS:
        raise BenchError(f"ort.optimization_level '{level}' is not one of {', '.join(OPT_LEVELS)}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = getattr(ort.GraphOptimizationLevel, OPT_LEVELS[level])
    # Fatal only: ORT logs warnings and run errors to stderr, which garbles the progress bar;
    # errors reach the case anyway, as the exception they raise.
    so.log_severity_level = 4
    for key, value in config_entries(providers).items():
        so.add_session_config_entry(key, value)
    return so


def session_settings(session: Any, threads: int, level: str) -> RuntimeSettings:
    """What the case's session ran under: the options `session_options` set, the providers loaded
    with their options, and the spinning default a deployment gets unless it changes it."""
    import onnxruntime as ort

    used = list(session.get_providers())
    settings = {
        "intra_op_num_threads": str(threads), "inter_op_num_threads": "1", "execution_mode": "ORT_SEQUENTIAL",
        "graph_optimization_level": OPT_LEVELS[level], "providers": ", ".join(used),
        SPINNING: "1 (ORT default: the intra-op pool spins after a run returns)",
    }
    settings.update(config_entries(used))
    options = session.get_provider_options()
    for p in used:
        if options.get(p):
            settings[f"{p} options"] = ", ".join(f"{k}={v}" for k, v in sorted(options[p].items()))
    return RuntimeSettings(runtime=f"onnxruntime {ort.__version__}", settings=settings)


def create_session(path: Path, threads: int, level: str, device: str, requested: Sequence[str] | None,
                   cache_root: Path, profile_prefix: str | None = None) -> Any:
    import onnxruntime as ort

    providers = choose_providers(device, ort.get_available_providers(), requested)
    so = session_options(threads, level, providers)
    if profile_prefix is not None:  # a second, profiled session (suite/profiling); never the timed one
        so.enable_profiling = True
        so.profile_file_prefix = profile_prefix
    with_opts = [(p, provider_options(p, device, threads, cache_root)) for p in providers]
    try:
        session = ort.InferenceSession(str(path), so, providers=with_opts)
    except Exception as exc:
        raise classify_session_error(exc, f"creating the ONNX Runtime session for {path.name}") from exc
    used = session.get_providers()
    if device.startswith("cuda") and not any(p in GPU_PROVIDERS for p in used):
        raise CaseError("session", f"asked for {', '.join(providers)} but ONNX Runtime loaded only "
                        f"{', '.join(used)} (the GPU provider failed to initialise; check CUDA/cuDNN libraries)")
    return session


def classify_session_error(exc: BaseException, doing: str) -> CaseError:
    msg = " ".join(str(exc).split())
    if len(msg) > 800:
        msg = msg[:797] + "..."
    unsupported = type(exc).__name__ == "NotImplemented" or any(
        s in msg for s in ("is not a registered function/op", "Could not find an implementation", "NOT_IMPLEMENTED"))
    if unsupported:
        return CaseError("unsupported", f"ONNX Runtime cannot run an operator in this graph ({doing}): {msg}")
    return CaseError("session", f"ONNX Runtime failed {doing}: {type(exc).__name__}: {msg}")


# --------------------------------------------------------------------------- inputs


def check_input_shapes(session: Any, inputs: dict[str, Any], label: str) -> None:
    """Fail clearly when the graph fixes a dimension the sweep changes (e.g. an .onnx file
    exported with batch 1 asked for batch 4), instead of ORT's bare 'invalid dimensions'."""
    for meta in session.get_inputs():
        if meta.name not in inputs:
            raise CaseError("session", f"{label}: the graph needs input '{meta.name}' that the input spec does not "
                            f"provide (it provides {', '.join(inputs) or 'none'})")
        got = list(inputs[meta.name].shape)
        want = list(meta.shape)
        if len(got) != len(want):
            raise BenchError(f"{label}: input '{meta.name}' has rank {len(want)} in the graph, the case gives {got}")
        for i, (w, g) in enumerate(zip(want, got)):
            if isinstance(w, int) and w > 0 and w != g:
                raise BenchError(f"{label}: input '{meta.name}' dimension {i} is fixed at {w} in the graph but this "
                                 f"case needs {g} (shape {got}); the model cannot run this batch size / input size")


def host_feeds(session: Any, inputs: dict[str, Any]) -> dict[str, Any]:
    """numpy arrays for session.run: zero-copy views of CPU tensors, cast only where the
    graph declares another type (e.g. an int32 graph input fed int64 tokens)."""
    import numpy as np


    feeds = {}
    for meta in session.get_inputs():
        arr = to_numpy(inputs[meta.name])
        want = _NP_TYPES.get(meta.type)
        if want is not None and arr.dtype != np.dtype(want):
            arr = arr.astype(want)
        feeds[meta.name] = np.ascontiguousarray(arr)
    return feeds


class DeviceBinding:
    """Inputs and outputs bound to device memory (ORT IO binding), so each run moves no data
    between host and device. Works with any device type ORT knows ('cuda', 'cpu')."""

    def __init__(self, session: Any, device_type: str, device_id: int = 0):
        self.session = session
        self.device_type = device_type
        self.device_id = device_id
        self.binding = None
        self._keep: list[Any] = []  # the bound tensors must outlive the binding

    def bind(self, inputs: dict[str, Any]) -> None:
        import numpy as np
        import torch

        binding = self.session.io_binding()
        keep = []
        for meta in self.session.get_inputs():
            t = inputs[meta.name]
            if t.device.type != self.device_type:  # a host pointer bound as device memory would crash
                t = t.to(self.device_type if self.device_type != "cuda" else f"cuda:{self.device_id}")
            want = _NP_TYPES.get(meta.type)
            if want is not None and torch.empty(0, dtype=t.dtype).numpy().dtype != np.dtype(want):
                t = t.to(getattr(torch, "bool" if want == "bool" else want))
            t = t.contiguous()
            keep.append(t)
            binding.bind_input(meta.name, self.device_type, self.device_id, np.dtype(want or "float32").type,
                               list(t.shape), t.data_ptr())
        for meta in self.session.get_outputs():
            binding.bind_output(meta.name, self.device_type, self.device_id)
        self.binding, self._keep = binding, keep

    def run(self) -> Any:
        self.session.run_with_iobinding(self.binding)
        return self.binding

    def outputs_on_host(self) -> list[Any]:
        return self.binding.copy_outputs_to_cpu()


# --------------------------------------------------------------------------- backend


class OrtBackend(BackendBase):
    def __init__(self, name: str, session: Any, device: str, *, io_binding: bool, time_host_copies: bool):
        super().__init__()
        self.name = name
        self.session = session
        self.device = device
        on_gpu = device.startswith("cuda") and any(p in GPU_PROVIDERS for p in session.get_providers())
        # session.run/run_with_iobinding return after the providers synchronise (ORT's
        # default), so a GPU sample includes the device work.
        self.synchronized = on_gpu
        bind = on_gpu and io_binding and not time_host_copies
        self._binding = DeviceBinding(session, "cuda", device_index(device)) if bind else None
        self._copy_each_run = on_gpu and time_host_copies
        if on_gpu and not io_binding and not time_host_copies:
            self.flags.append("ort: io_binding off on a GPU provider: host<->device copies are inside the timed run")
        self._inputs: dict[str, Any] | None = None  # the dict the feeds were made from
        self._feeds: dict[str, Any] = {}
        self.shape_hint = ""  # appended to a failure of the first run (see _prepare)
        self.tolerance_for: Callable[[float], float] = lambda configured: configured
        self.fallback: Callable[[dict[str, Any]], tuple[str, list[Any]]] | None = None
        self._twin: Callable[[str], Any] | None = None  # a new session like this one, profiling to a prefix
        self._io_binding, self._time_host_copies = io_binding, time_host_copies
        self.settings: RuntimeSettings | None = None  # set by _prepare (suite.backends.protocol.Prepared.runtime_settings)

    def runtime_settings(self) -> RuntimeSettings | None:
        return self.settings

    def profiled_twin(self, prefix: str) -> OrtBackend:
        """A second session from the same graph, options and providers, with ONNX Runtime's profiler
        on (writing under `prefix`): the timed session is left as it is."""
        if self._twin is None:
            raise CaseError("unsupported", f"{self.name}: this session cannot be recreated for profiling")
        return OrtBackend(self.name, self._twin(prefix), self.device, io_binding=self._io_binding,
                          time_host_copies=self._time_host_copies)

    def _prepare_inputs(self, inputs: dict[str, Any]) -> None:
        # Conversion happens once per input dict, outside the timed loop (the loop passes
        # the same dict every call).
        if self._inputs is inputs:
            return
        if self._binding is not None:
            self._binding.bind(inputs)
        elif not self._copy_each_run:
            self._feeds = host_feeds(self.session, inputs)
        self._inputs = inputs

    def run(self, inputs: dict[str, Any]) -> Any:
        self._prepare_inputs(inputs)
        if self._binding is not None:
            return self._binding.run()
        if self._copy_each_run:
            return self.session.run(None, host_feeds(self.session, inputs))
        return self.session.run(None, self._feeds)

    def outputs(self, inputs: dict[str, Any]) -> list[Any]:
        """One run through the very path that is timed, outputs fetched to the host."""
        try:
            out = self.run(inputs)
        except Exception as exc:
            err = classify_session_error(exc, "running the model")
            raise CaseError(err.kind, f"{err}{self.shape_hint}") from exc
        return self._binding.outputs_on_host() if self._binding is not None else list(out)

    def fallback_reference(self, inputs: dict[str, Any]) -> tuple[str, list[Any]] | None:
        return None if self.fallback is None else self.fallback(inputs)

    def parity_tolerance(self, configured: float) -> float:
        return self.tolerance_for(configured)

    def close(self) -> None:
        self._binding = None
        self._feeds = {}
        self._inputs = None
        self.session = None


def bare(model: Any, inputs: dict[str, Any], threads: int, graph: str | None) -> Any:
    """A plain ONNX Runtime session on the case's graph (suite/run/bare.py): ORT's defaults but the
    thread count (spinning on, as a deployment gets it), numpy feeds made once."""
    import onnxruntime as ort

    if graph is None:
        raise BenchError("the ORT bare loop needs the case's ONNX file")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    session = ort.InferenceSession(graph, so, providers=["CPUExecutionProvider"])
    feeds = host_feeds(session, inputs)
    return lambda: session.run(None, feeds)


def _options(req: PrepareRequest) -> OrtOptions:
    try:
        return OrtOptions.model_validate(req.options or {})
    except Exception as exc:
        raise BenchError(f"invalid ort options: {exc}") from None


def prepare(req: PrepareRequest) -> OrtBackend:
    return _prepare(req, quantized=False)


def prepare_int8(req: PrepareRequest) -> OrtBackend:
    return _prepare(req, quantized=True)


def precheck(req: PrepareRequest) -> None:
    """Before the eager reference pass: a provider the machine lacks is a configuration error,
    and an export that failed before fails again at once (the cache remembers failures)."""
    import onnxruntime as ort

    opts = _options(req)
    choose_providers(req.device, ort.get_available_providers(), opts.providers)
    if req.model is not None:
        key = export_key(req.model, req.entry, opts.exporter, opts.opset, case_size(req.entry.input_spec, req.inputs))
        cached_export(cache.cache_root(opts.cache_dir), req.entry, key)


@dataclass(frozen=True)
class _Graph:
    """The ONNX file a case runs, and how it came to be."""

    path: Path  # what the session loads (the int8 file for ort-int8)
    fp32_path: Path
    exporter: str  # dynamo | torchscript | file
    opset: int | None
    cache_hit: bool
    export_s: float | None
    notes: tuple[str, ...] = ()  # what the case should know about its graph (a rebuilt cache entry)


def _prepare(req: PrepareRequest, quantized: bool) -> OrtBackend:
    opts = _options(req)
    root = cache.cache_root(opts.cache_dir)
    key = None
    if req.model is not None:
        key = export_key(req.model, req.entry, opts.exporter, opts.opset, case_size(req.entry.input_spec, req.inputs))
    graph = _graph_for(req, opts, root, quantized, key)

    session = create_session(graph.path, req.threads, opts.optimization_level, req.device, opts.providers, root)
    backend = OrtBackend("ort-int8" if quantized else "ort", session, req.device, io_binding=opts.io_binding,
                         time_host_copies=opts.time_host_copies)
    check_input_shapes(session, req.inputs, graph.fp32_path.name if req.model is None else req.entry.name)
    backend._twin = lambda prefix: create_session(graph.path, req.threads, opts.optimization_level, req.device,
                                                  opts.providers, root, profile_prefix=prefix)
    backend.flags.extend(graph.notes)
    backend.settings = session_settings(session, req.threads, opts.optimization_level)
    if req.model is not None:
        backend.shape_hint = _shape_hint(req, graph)
    if quantized:
        backend.tolerance_for = int8_tolerance
        if req.model is None:
            # An .onnx file has no eager model: int8 is checked against the fp32 file on ORT.
            backend.fallback = lambda inputs: ("ort", _fp32_outputs(req, opts, graph, root, inputs))
    backend.export = ExportInfo(
        exporter=graph.exporter, opset=graph.opset, providers=list(session.get_providers()),
        cache_hit=graph.cache_hit, export_s=graph.export_s, path=str(graph.path), quantized=quantized,
        optimization_level=opts.optimization_level,
    )
    return backend


def _fp32_outputs(req: PrepareRequest, opts: OrtOptions, graph: _Graph, root: Path, inputs: dict[str, Any]) -> list[Any]:
    fp32 = create_session(graph.fp32_path, req.threads, opts.optimization_level, req.device, opts.providers, root)
    ref = OrtBackend("ort", fp32, req.device, io_binding=opts.io_binding, time_host_copies=opts.time_host_copies)
    try:
        return ref.outputs(inputs)
    finally:
        ref.close()


def _graph_for(req: PrepareRequest, opts: Any, root: Path, quantized: bool, key: ExportKey | None) -> _Graph:
    """Export (or find in the cache, under `key` when given) the case's model, or take the
    user's .onnx file; then quantise it for ort-int8."""
    entry = req.entry
    if req.model is not None:
        out = ensure_export(req.model, entry, opts.exporter, opts.opset, root, case_size(entry.input_spec, req.inputs),
                            key=key)
        graph = _Graph(out.path, out.path, out.exporter, out.opset, out.cache_hit, out.export_s,
                       (out.note,) if out.note else ())
        folder = out.entry.path
    else:
        if not entry.path:
            raise BenchError(f"model '{entry.name}' has neither a torch builder nor an ONNX file")
        path = Path(entry.path)
        graph = _Graph(path, path, "file", _safe_opset(path), False, None)
        folder = file_cache_folder(root, path) if quantized else None
    if not quantized:
        return graph
    q = quantize_in_folder(graph.fp32_path, folder)
    hit = q.cache_hit and (graph.cache_hit or req.model is None)
    seconds = None if graph.export_s is None and q.quantize_s is None else \
        round((graph.export_s or 0.0) + (q.quantize_s or 0.0), 3)
    notes = graph.notes + ((q.note,) if q.note else ())
    return _Graph(q.path, graph.fp32_path, graph.exporter, graph.opset, hit, seconds, notes)


def _shape_hint(req: PrepareRequest, graph: _Graph) -> str:
    """Why an exported graph may fail to run this case: it has baked its example's shape in
    (the TorchScript exporter does this with data-dependent code such as Longformer's)."""
    spec = req.entry.input_spec
    traced = example_size(spec, case_size(spec, req.inputs))
    return (f" [the graph was exported by {graph.exporter} at batch {EXAMPLE_BATCH}"
            f"{'' if traced is None else f', size {traced:g}'}; it does not run this case's shapes]")


def _safe_opset(path: Path) -> int | None:
    try:
        return read_opset(path)
    except Exception as exc:
        raise BenchError(f"{path} is not a readable ONNX model: {exc}") from None
