"""torch.compile: the model compiled by a torch.compile backend (inductor by default), CPU or CUDA.

Compilation happens on the first call. `prepare` makes that call itself, outside the timed
loop, and records how long it took as the case's compile time (`export.export_s`, the same
field an ONNX export fills), so the timed loop measures the compiled code, not the compiler.
A compile failure is a failed case (kind `compile`); parity against eager is the generic
step every non-eager backend goes through (`suite.backends.prepare_backend`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from suite.backends.eager import EagerBackend
from suite.backends.eager import bare as eager_bare
from suite.backends.protocol import PrepareRequest
from suite.errors import BenchError, CaseError
from suite.models.inputs import Inputs
from suite.results.schema import ExportInfo, RuntimeSettings

if TYPE_CHECKING:
    from torch import nn


class CompileOptions(BaseModel):
    """The [torch_compile] config section: the arguments of torch.compile."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    backend: str = "inductor"
    mode: Literal["default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"] = "default"
    fullgraph: bool = False
    # False: one graph specialised to the case's shapes (each case compiles its own, as each
    # ONNX case gets its own session); None lets torch decide.
    dynamic: bool | None = False


class CompiledBackend(EagerBackend):
    """Eager's calling convention and synchronisation around a compiled module."""

    name = "torch-compile"

    def __init__(self, req: PrepareRequest, opts: CompileOptions) -> None:
        super().__init__(req)
        self.opts = opts
        try:
            self.model = self._torch.compile(self.model, backend=opts.backend, mode=opts.mode,
                                             fullgraph=opts.fullgraph, dynamic=opts.dynamic)
        except Exception as exc:  # an unknown compile backend is refused here, before any call
            raise CaseError("compile", f"torch.compile refused its arguments: {type(exc).__name__}: "
                                       f"{_short(exc)}") from exc

    def runtime_settings(self) -> RuntimeSettings:
        base = super().runtime_settings()
        o = self.opts
        compiled = f"backend={o.backend}, mode={o.mode}, fullgraph={o.fullgraph}, dynamic={o.dynamic}"
        return base.model_copy(update={"settings": {**base.settings, "torch.compile": compiled}})

    def compile_now(self, inputs: Inputs) -> float:
        """Run the first call (which compiles) and return its duration in seconds."""
        t0 = time.perf_counter()
        try:
            with self.context():
                self.run(inputs)
        except Exception as exc:
            raise CaseError("compile", f"torch.compile failed on the first call: {type(exc).__name__}: "
                                       f"{_short(exc)}") from exc
        return time.perf_counter() - t0


def _short(exc: BaseException, limit: int = 800) -> str:
    msg = " ".join(str(exc).split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


def bare(model: nn.Module, inputs: Inputs, threads: int, graph: str | None) -> Callable[[], object]:
    """A hand-written torch.compile call (suite/run/bare.py): torch.compile's defaults, compiled by the
    bare loop's warm-up."""
    import torch


    return eager_bare(torch.compile(model), inputs, threads, graph)


def prepare(req: PrepareRequest) -> CompiledBackend:
    if req.model is None:
        raise BenchError(f"model '{req.entry.name}' is an ONNX file: torch-compile runs torch models only")
    try:
        opts = CompileOptions.model_validate(req.options or {})
    except Exception as exc:
        raise BenchError(f"invalid torch_compile options: {exc}") from None
    import logging

    import torch

    # Inductor's C++ toolchain probe warns on machines without CUDA; the case records what
    # happened, the progress bar should not be garbled by it.
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    backend = CompiledBackend(req, opts)
    try:
        seconds = backend.compile_now(req.inputs)
    except BaseException:
        backend.close()
        raise
    backend.export = ExportInfo(exporter=f"torch.compile[{opts.backend}]", export_s=round(seconds, 3),
                                optimization_level=opts.mode, providers=[f"torch {torch.__version__}"])
    return backend
