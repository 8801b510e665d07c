"""An ONNX Runtime session as a backend (`OrtBackend`): feeds made once from the case's tensors
(zero-copy numpy views on a CPU, IO binding on a GPU), one `InferenceSession.run` per timed call,
and the outputs on the host for the parity check; plus the plain session of `bench audit`'s bare
loop."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from suite.backends.ort.ort_api import IOBinding, Session
from suite.backends.ort.providers import (
    _NP_TYPES,
    GPU_PROVIDERS,
    classify_session_error,
    device_index,
)
from suite.backends.parity import to_numpy
from suite.backends.protocol import BackendBase
from suite.errors import BenchError, CaseError
from suite.models.inputs import Array, Inputs
from suite.results.schema import RuntimeSettings

if TYPE_CHECKING:
    from torch import Tensor

# --------------------------------------------------------------------------- inputs


def check_input_shapes(session: Session, inputs: Inputs, label: str) -> None:
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


def host_feeds(session: Session, inputs: Inputs) -> dict[str, Array]:
    """numpy arrays for session.run: zero-copy views of CPU tensors, cast only where the
    graph declares another type (e.g. an int32 graph input fed int64 tokens)."""
    import numpy as np


    feeds: dict[str, Array] = {}
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

    def __init__(self, session: Session, device_type: str, device_id: int = 0) -> None:
        self.session = session
        self.device_type = device_type
        self.device_id = device_id
        self.binding: IOBinding | None = None
        self._keep: list[Tensor] = []  # the bound tensors must outlive the binding

    def bind(self, inputs: Inputs) -> None:
        import numpy as np
        import torch

        binding = self.session.io_binding()
        keep = []
        for meta in self.session.get_inputs():
            t = cast("Tensor", inputs[meta.name])  # a device binding binds the case's torch tensors
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

    def run(self) -> IOBinding | None:
        self.session.run_with_iobinding(self.binding)  # type: ignore[arg-type]  # bound before any run
        return self.binding

    def outputs_on_host(self) -> list[Array]:
        if self.binding is None:
            raise CaseError("session", "outputs asked for before the inputs were bound")
        return self.binding.copy_outputs_to_cpu()


# --------------------------------------------------------------------------- backend


class OrtBackend(BackendBase):
    def __init__(self, name: str, session: Session, device: str, *, io_binding: bool, time_host_copies: bool) -> None:
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
        self._inputs: Inputs | None = None  # the dict the feeds were made from
        self._feeds: dict[str, Array] = {}
        self.shape_hint = ""  # appended to a failure of the first run (see _prepare)
        self.tolerance_for: Callable[[float], float] = lambda configured: configured
        self.fallback: Callable[[Inputs], tuple[str, list[Array]]] | None = None
        self._twin: Callable[[str], Session] | None = None  # a new session like this one, profiling to a prefix
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

    def _prepare_inputs(self, inputs: Inputs) -> None:
        # Conversion happens once per input dict, outside the timed loop (the loop passes
        # the same dict every call).
        if self._inputs is inputs:
            return
        if self._binding is not None:
            self._binding.bind(inputs)
        elif not self._copy_each_run:
            self._feeds = host_feeds(self.session, inputs)
        self._inputs = inputs

    def run(self, inputs: Inputs) -> object:
        self._prepare_inputs(inputs)
        if self._binding is not None:
            return self._binding.run()
        if self._copy_each_run:
            return self.session.run(None, host_feeds(self.session, inputs))
        return self.session.run(None, self._feeds)

    def outputs(self, inputs: Inputs) -> list[Array]:
        """One run through the very path that is timed, outputs fetched to the host."""
        try:
            out = self.run(inputs)
        except Exception as exc:
            err = classify_session_error(exc, "running the model")
            raise CaseError(err.kind, f"{err}{self.shape_hint}") from exc
        if self._binding is not None:
            return self._binding.outputs_on_host()
        return list(cast("list[Array]", out))  # session.run's outputs

    def fallback_reference(self, inputs: Inputs) -> tuple[str, list[Array]] | None:
        return None if self.fallback is None else self.fallback(inputs)

    def parity_tolerance(self, configured: float) -> float:
        return self.tolerance_for(configured)

    def close(self) -> None:
        self._binding = None
        self._feeds = {}
        self._inputs = None
        self.session = None  # type: ignore[assignment]  # released: the backend is not run after close()


def bare(model: object, inputs: Inputs, threads: int, graph: str | None) -> Callable[[], object]:
    """A plain ONNX Runtime session on the case's graph (suite/run/bare.py): ORT's defaults but the
    thread count (spinning on, as a deployment gets it), numpy feeds made once."""
    import onnxruntime as ort

    if graph is None:
        raise BenchError("the ORT bare loop needs the case's ONNX file")
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    session: Session = ort.InferenceSession(graph, so, providers=["CPUExecutionProvider"])
    feeds = host_feeds(session, inputs)
    return lambda: session.run(None, feeds)
