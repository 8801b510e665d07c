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

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

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
from suite.backends.ort.providers import (
    choose_providers,
    create_session,
    session_settings,
)
from suite.backends.ort.quantize import (
    file_cache_folder,
    int8_tolerance,
    quantize_in_folder,
)
from suite.backends.ort.session import OrtBackend, check_input_shapes
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError
from suite.models.inputs import Array, Inputs
from suite.results.schema import ExportInfo

if TYPE_CHECKING:
    from suite.backends.ort.export import ExportKey

def ort_options(req: PrepareRequest) -> OrtOptions:
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

    opts = ort_options(req)
    choose_providers(req.device, ort.get_available_providers(), opts.providers)
    export_precheck(req, opts)


def export_precheck(req: PrepareRequest, opts: OrtOptions) -> None:
    """An export that failed before fails again at once (any backend that runs the ONNX export)."""
    if req.model is not None:
        key = export_key(req.model, req.entry, opts.exporter, opts.opset, case_size(req.entry.input_spec, req.inputs))
        cached_export(cache.cache_root(opts.cache_dir), req.entry, key)


@dataclass(frozen=True)
class OnnxGraph:
    """The ONNX file a case runs, and how it came to be."""

    path: Path  # what the session loads (the int8 file for ort-int8)
    fp32_path: Path
    exporter: str  # dynamo | torchscript | file
    opset: int | None
    cache_hit: bool
    export_s: float | None
    notes: tuple[str, ...] = ()  # what the case should know about its graph (a rebuilt cache entry)


def onnx_graph(req: PrepareRequest, opts: OrtOptions, quantized: bool = False) -> OnnxGraph:
    """The case's ONNX graph: the cached export of its model (exported now if needed), or the user's
    .onnx file; quantised for ort-int8. Any backend that runs ONNX files reads it from here."""
    key = None
    if req.model is not None:
        key = export_key(req.model, req.entry, opts.exporter, opts.opset, case_size(req.entry.input_spec, req.inputs))
    return _graph_for(req, opts, cache.cache_root(opts.cache_dir), quantized, key)


def _prepare(req: PrepareRequest, quantized: bool) -> OrtBackend:
    opts = ort_options(req)
    root = cache.cache_root(opts.cache_dir)
    graph = onnx_graph(req, opts, quantized)

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
            backend.fallback = lambda inputs: ("ort", fp32_outputs(req, opts, graph, inputs))
    backend.export = ExportInfo(
        exporter=graph.exporter, opset=graph.opset, providers=list(session.get_providers()),
        cache_hit=graph.cache_hit, export_s=graph.export_s, path=str(graph.path), quantized=quantized,
        optimization_level=opts.optimization_level,
    )
    return backend


def fp32_outputs(req: PrepareRequest, opts: OrtOptions, graph: OnnxGraph, inputs: Inputs) -> list[Array]:
    """ONNX Runtime's outputs of the graph's fp32 file: the reference of a backend without an eager model."""
    root = cache.cache_root(opts.cache_dir)
    fp32 = create_session(graph.fp32_path, req.threads, opts.optimization_level, req.device, opts.providers, root)
    ref = OrtBackend("ort", fp32, req.device, io_binding=opts.io_binding, time_host_copies=opts.time_host_copies)
    try:
        return ref.outputs(inputs)
    finally:
        ref.close()


def _graph_for(req: PrepareRequest, opts: OrtOptions, root: Path, quantized: bool, key: ExportKey | None) -> OnnxGraph:
    """Export (or find in the cache, under `key` when given) the case's model, or take the
    user's .onnx file; then quantise it for ort-int8."""
    entry = req.entry
    if req.model is not None:
        out = ensure_export(req.model, entry, opts.exporter, opts.opset, root, case_size(entry.input_spec, req.inputs),
                            key=key)
        graph = OnnxGraph(out.path, out.path, out.exporter, out.opset, out.cache_hit, out.export_s,
                       (out.note,) if out.note else ())
        folder: Path | None = out.entry.path
    else:
        if not entry.path:
            raise BenchError(f"model '{entry.name}' has neither a torch builder nor an ONNX file")
        path = Path(entry.path)
        graph = OnnxGraph(path, path, "file", _safe_opset(path), False, None)
        folder = file_cache_folder(root, path) if quantized else None
    if not quantized or folder is None:
        return graph
    q = quantize_in_folder(graph.fp32_path, folder)
    hit = q.cache_hit and (graph.cache_hit or req.model is None)
    seconds = None if graph.export_s is None and q.quantize_s is None else \
        round((graph.export_s or 0.0) + (q.quantize_s or 0.0), 3)
    notes = graph.notes + ((q.note,) if q.note else ())
    return OnnxGraph(q.path, graph.fp32_path, graph.exporter, graph.opset, hit, seconds, notes)


def _shape_hint(req: PrepareRequest, graph: OnnxGraph) -> str:
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
