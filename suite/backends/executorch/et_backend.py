"""ExecuTorch with the XNNPACK delegate as a backend: the case's model lowered to a .pte program
(cached, suite/backends/executorch/pte_export.py), loaded by the ExecuTorch runtime's Python API
(`executorch.runtime.Runtime`), one `Method.execute` per timed call.

What makes the comparison fair:

* same inputs: the case's seeded tensors, passed in the program's input order (contiguous, made
  once per input dict, outside the timed loop);
* same threads: ExecuTorch's own thread pool (pthreadpool, which XNNPACK runs on) is reset to the
  case's thread count before the program is loaded; the pool is one per process;
* same function: parity against eager through the generic step (suite.backends.prepare).

Between interleaved blocks there is nothing to quiesce: the Python API has no call that parks or
stops the pool (its only handle, `_unsafe_reset_threadpool`, destroys and recreates it and is marked
unsafe), so the table row declares no `quiesce`; pthreadpool's workers spin briefly after a call and
then sleep, which the worker's settling (suite/metrics/settle.py) waits out like ORT's pool.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from suite.backends.executorch.pte_export import EXPORTER, PteOutcome, ensure_pte, lowering_failure, pte_key
from suite.backends.executorch.pt2e_quantize import plan_calibration, pt2e_quantizer
from suite.backends.ort.cache import cache_root
from suite.backends.ort.export import cached_export, captured_output, order_by_signature
from suite.backends.ort.quantize import int8_tolerance
from suite.backends.parity import to_numpy
from suite.backends.protocol import BackendBase, PrepareRequest
from suite.errors import BenchError, CaseError
from suite.models.inputs import Array, Inputs
from suite.results.schema import ExportInfo, RuntimeSettings
from suite.version import distribution_version


class ExecutorchOptions(BaseModel):
    """The [executorch] config section."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    # Where programs are cached: default the export cache the ONNX exports use ($BENCH_CACHE_DIR,
    # else ~/.cache/bench/onnx), so that `bench cache ls` and `bench cache clear` cover them too.
    cache_dir: str | None = None


def options_of(req: PrepareRequest) -> ExecutorchOptions:
    try:
        return ExecutorchOptions.model_validate(req.options or {})
    except Exception as exc:
        raise BenchError(f"invalid executorch options: {exc}") from None


def load_program(path: Path, threads: int) -> tuple[Any, Any]:
    """(program, its forward method) through the runtime's Python API, with its thread pool at
    `threads` (Any: executorch's runtime objects). The runtime's cpuinfo lines are swallowed; a
    program the runtime refuses is a CaseError naming the missing operator when it says one."""
    with captured_output() as output:
        import executorch.extension.pybindings.portable_lib as portable
        from executorch.runtime import Runtime

        try:
            portable._unsafe_reset_threadpool(threads)
            program = Runtime.get().load_program(str(path))
            method = program.load_method("forward")
        except Exception as exc:
            raise lowering_failure("lower", "runtime load", exc, output()) from exc
    if method is None:
        raise CaseError("lower", f"the ExecuTorch program {path} has no forward method")
    return program, method


def pool_threads() -> int:
    import executorch.extension.pybindings.portable_lib as portable

    return int(portable._threadpool_get_thread_count())


class ExecutorchBackend(BackendBase):
    """One loaded program; `run` is one `Method.execute` on the case's tensors."""

    def __init__(self, name: str, path: Path, threads: int, input_names: list[str]) -> None:
        super().__init__()
        self.name = name
        self.path = path
        self._program, self._method = load_program(path, threads)
        self.input_names = input_names
        self._inputs: Inputs | None = None  # the dict the arguments were made from
        self._args: list[Any] = []  # torch tensors (Any: torch is imported only here)
        self.tolerance_for: Callable[[float], float] = lambda configured: configured
        self.settings: RuntimeSettings | None = None

    def _arguments(self, inputs: Inputs) -> list[Any]:
        if self._inputs is not inputs:
            import torch

            self._args = [torch.as_tensor(inputs[n]).contiguous() for n in self.input_names]
            self._inputs = inputs
        return self._args

    def run(self, inputs: Inputs) -> list[Any]:
        """The program's outputs (Any: torch tensors)."""
        out: list[Any] = self._method.execute(self._arguments(inputs))
        return out

    def outputs(self, inputs: Inputs) -> list[Array]:
        """The first call through the timed path, its output lines swallowed (the runtime prints
        cpuinfo lines on first use) and a refusal turned into a CaseError."""
        with captured_output() as output:
            try:
                out = self.run(inputs)
            except Exception as exc:
                raise lowering_failure("lower", "runtime execution", exc, output()) from exc
        return [to_numpy(t) for t in out]

    def profiled_op_events(self, inputs: Inputs, calls: int) -> tuple[str, list[tuple[str, str, list[float]]],
                                                                      list[float]]:
        """The program loaded a second time with ETDump on (the timed one untouched), one unprofiled call,
        `calls` profiled ones; the Inspector's "Execute" events with their per-call times (ms), and the
        calls' wall times (suite/profiling)."""
        import tempfile
        import time
        import warnings

        from executorch.runtime import Runtime

        args = self._arguments(inputs)
        with captured_output(), tempfile.TemporaryDirectory(prefix="bench-etdump-") as d, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the Inspector warns that no tensor debug data was asked for
            from executorch.devtools import Inspector

            program = Runtime.get().load_program(str(self.path), enable_etdump=True, debug_buffer_size=0)
            method = program.load_method("forward")
            method.execute(args)  # first-call allocations: left out, like a warm-up
            walls = []
            for _ in range(calls):
                t0 = time.perf_counter_ns()
                method.execute(args)
                walls.append((time.perf_counter_ns() - t0) / 1e6)
            program.write_etdump_result_to_file(f"{d}/run.etdp", f"{d}/debug.bin")
            blocks = Inspector(etdump_path=f"{d}/run.etdp").event_blocks
        events = [(str(e.name), str(e.name), [float(v) for v in e.perf_data.raw[1:]]) for b in blocks
                  if b.name == "Execute" for e in b.events if e.perf_data is not None]
        return "executorch etdump", events, walls

    def parity_tolerance(self, configured: float) -> float:
        return self.tolerance_for(configured)

    def runtime_settings(self) -> RuntimeSettings | None:
        return self.settings

    def close(self) -> None:
        self._method = self._program = None
        self._args = []
        self._inputs = None


def _portable_ops(meta: Mapping[str, object]) -> str | None:
    """The operators a program runs on ExecuTorch's portable kernels, outside XNNPACK, with their counts
    (None: everything runs inside the delegate)."""
    portable = meta.get("portable_ops")
    if not isinstance(portable, dict) or not portable:
        return None
    return ", ".join(f"{op} x{n}" for op, n in portable.items())


def runtime_settings(threads: int, outcome: PteOutcome) -> RuntimeSettings:
    ops = _portable_ops(outcome.meta) or "none"
    return RuntimeSettings(runtime=f"executorch {distribution_version('executorch') or '?'}", settings={
        "threadpool threads (_unsafe_reset_threadpool)": f"{threads} (pool reports {pool_threads()})",
        "delegate": f"XNNPACK ({outcome.meta.get('delegated_nodes', '?')} graph nodes)",
        "portable kernels (outside the delegate)": ops,
        "program verification": "InternalConsistency (runtime default)",
        "memory planning": "ahead of time, for the case's input shapes",
        "between calls": "pthreadpool spins briefly, then sleeps (no API to stop it)",
    })


def portable_note(name: str, meta: dict[str, Any]) -> str | None:
    """What runs outside XNNPACK (on ExecuTorch's portable, unoptimised kernels), when anything does."""
    ops = _portable_ops(meta)
    if ops is None:
        return None
    return f"{name}: {sum(meta['portable_ops'].values())} operator call(s) run on ExecuTorch's portable kernels, outside XNNPACK: {ops}"


def _check(req: PrepareRequest, name: str) -> None:
    if req.model is None:
        raise BenchError(f"model '{req.entry.name}' is an ONNX file: {name} runs torch models only")
    if req.device != "cpu":
        raise BenchError(f"{name} runs on the CPU (the XNNPACK delegate); this case asks for {req.device}")


def precheck(req: PrepareRequest) -> None:
    """A lowering that failed before fails again at once (the cache remembers failures)."""
    _check(req, "executorch")
    assert req.model is not None  # _check
    cached_export(cache_root(options_of(req).cache_dir), req.entry, pte_key(req.model, req.entry, req.inputs))


def precheck_int8(req: PrepareRequest) -> None:
    _check(req, "executorch-int8")
    assert req.model is not None  # _check
    plan = plan_calibration("executorch-int8", req.entry, req.inputs, req.calibration)
    cached_export(cache_root(options_of(req).cache_dir), req.entry, pte_key(req.model, req.entry, req.inputs, plan.fields))


def prepare_int8(req: PrepareRequest) -> ExecutorchBackend:
    """The program quantised to int8 by XNNPACK's PT2E quantiser (suite/backends/executorch/pt2e_quantize.py),
    calibrated on the run's dataset when it has one; parity against eager with the int8 tolerance."""
    _check(req, "executorch-int8")
    assert req.model is not None  # _check
    plan = plan_calibration("executorch-int8", req.entry, req.inputs, req.calibration)
    key = pte_key(req.model, req.entry, req.inputs, plan.fields)
    outcome = ensure_pte(req.model, req.entry, req.inputs, cache_root(options_of(req).cache_dir), key,
                         quantize=pt2e_quantizer(plan.batches),
                         meta={"calibration": plan.note, "exporter": f"{EXPORTER} int8"})  # as `bench cache ls` shows it
    backend = backend_for("executorch-int8", req, outcome, quantized=True)
    backend.tolerance_for = int8_tolerance
    backend.flags.append(plan.note)
    return backend


def prepare(req: PrepareRequest) -> ExecutorchBackend:
    _check(req, "executorch")
    assert req.model is not None  # _check
    opts = options_of(req)
    key = pte_key(req.model, req.entry, req.inputs)
    outcome = ensure_pte(req.model, req.entry, req.inputs, cache_root(opts.cache_dir), key)
    return backend_for("executorch", req, outcome, quantized=False)


def backend_for(name: str, req: PrepareRequest, outcome: PteOutcome, quantized: bool) -> ExecutorchBackend:
    assert req.model is not None  # the callers' _check
    names = outcome.meta.get("input_names")
    if not isinstance(names, list) or sorted(names) != sorted(req.inputs):
        names = list(order_by_signature(req.model, req.inputs))
    backend = ExecutorchBackend(name, outcome.path, req.threads, [str(n) for n in names])
    backend.flags.extend(n for n in (outcome.note, portable_note(name, outcome.meta)) if n)
    backend.settings = runtime_settings(req.threads, outcome)
    backend.export = ExportInfo(exporter=EXPORTER, providers=["XnnpackBackend"], cache_hit=outcome.cache_hit,
                                export_s=outcome.export_s, path=str(outcome.path), quantized=quantized)
    return backend


def bare(model: object, inputs: Inputs, threads: int, graph: str | None) -> Callable[[], object]:
    """The runtime's own plain call on the case's program (suite/run/bare.py): `Runtime.load_program`,
    the thread pool at the case's count, `Method.execute` on the inputs in the program's order."""
    import executorch.extension.pybindings.portable_lib as portable
    import torch
    from executorch.runtime import Runtime
    from torch import nn

    if graph is None:
        raise BenchError("the ExecuTorch bare loop needs the case's .pte program")
    portable._unsafe_reset_threadpool(threads)
    program = Runtime.get().load_program(graph)
    method = program.load_method("forward")
    ordered = order_by_signature(model, inputs) if isinstance(model, nn.Module) else inputs
    args = [torch.as_tensor(v).contiguous() for v in ordered.values()]

    def call() -> object:
        return program and method.execute(args)  # the program stays referenced while its method runs
    return call
