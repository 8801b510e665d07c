"""The backend table: every backend the suite can run, in one place.

Config, plan, preflight, the case measurement, the report and the CLI read this table; none
of them names a backend. A row says how to prepare the backend (a "module:function" imported
only when a case uses it), what it needs installed, which config section holds its options
(a frozen pydantic model), whether it can run a model given as an .onnx file, how its runtime is
quiesced between interleaved blocks and called by a bare loop. How a backend is drawn is not here:
the report reads results files without importing any backend (suite/report/backend_style.py).

Third-party backends register through the `bench.backends` entry point group (as pytest and
pyperf plugins do): the entry point loads to a `BackendInfo`.

    # pyproject.toml of a plugin
    [project.entry-points."bench.backends"]
    tvm = "bench_tvm:BACKEND"      # BACKEND = BackendInfo(name="tvm", prepare="bench_tvm:prepare", ...)

`suite.backends.prepare.prepare_backend` is the one way a case gets a backend. This module is the
table alone, light to import (the CLI's help lists its names).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from suite.errors import BenchError, closest

if TYPE_CHECKING:
    from pydantic import BaseModel

    from suite.backends.protocol import Prepared

ENTRY_POINT_GROUP = "bench.backends"


@dataclass(frozen=True)
class BackendInfo:
    name: str
    prepare: str  # "module:function" taking a PrepareRequest, returning a Prepared
    summary: str  # one line: CLI help, `bench env`, the report's legend
    requires: tuple[str, ...] = ()  # import names the backend needs (checked before a run starts)
    options_key: str | None = None  # config section that holds its options, e.g. [ort]
    options: str | None = None  # "module:Class": the frozen pydantic model of that section
    precheck: str | None = None  # "module:function": fail fast (e.g. a cached export failure)
    runs_torch_models: bool = True  # runs a torch.nn.Module built by the registry
    runs_onnx_files: bool = False  # runs a model given as an .onnx file
    reference: bool = False  # the backend every other one is checked and compared against
    # "module:function" called with the Prepared after each of its blocks when another backend's
    # block follows (interleaved), to stop what its runtime leaves running after a call (a spinning
    # thread pool). None: nothing the runtime lets it stop. Either way the worker then waits until
    # no other thread runs (suite.metrics.settle), which covers ORT's and OpenMP's spinning pools.
    quiesce: str | None = None
    # "module:function" (model, inputs, threads, graph path or None) -> a no-argument callable: one
    # forward through the runtime's own plain API, for `bench audit`'s bare loop in a fresh process
    # (suite/run/bare.py). None: the audit has no bare loop for this backend.
    bare: str | None = None
    # True: the backend quantises with calibration data; a run with a dataset gives it the dataset's
    # samples (PrepareRequest.calibration), else it calibrates on seeded synthetic inputs and says so.
    calibrates: bool = False


BUILTIN: tuple[BackendInfo, ...] = (
    BackendInfo("eager", "suite.backends.eager:prepare", "PyTorch eager, as the model comes (the reference)",
                requires=("torch",), reference=True, bare="suite.backends.eager:bare"),
    BackendInfo("eager-cl", "suite.backends.eager_cl:prepare",
                "PyTorch eager in channels_last memory format (4-D image inputs; other models run as eager, "
                "with a note)", requires=("torch",), bare="suite.backends.eager_cl:bare"),
    BackendInfo("ort", "suite.backends.ort.ort_backend:prepare", "ONNX Runtime on an ONNX export (cached)",
                requires=("onnxruntime", "onnx"), options_key="ort", options="suite.backends.ort.ort_options:OrtOptions",
                precheck="suite.backends.ort.ort_backend:precheck", runs_onnx_files=True,
                bare="suite.backends.ort.session:bare"),
    BackendInfo("ort-int8", "suite.backends.ort.ort_backend:prepare_int8",
                "ONNX Runtime on the export quantised to int8 (dynamic, weights per channel)",
                requires=("onnxruntime", "onnx"), options_key="ort", options="suite.backends.ort.ort_options:OrtOptions",
                precheck="suite.backends.ort.ort_backend:precheck", runs_onnx_files=True,
                bare="suite.backends.ort.session:bare"),
    BackendInfo("torch-compile", "suite.backends.torch_compile:prepare",
                "torch.compile (inductor by default); compile time recorded like export time",
                requires=("torch",), options_key="torch_compile",
                options="suite.backends.torch_compile:CompileOptions", bare="suite.backends.torch_compile:bare"),
    # No quiesce: ExecuTorch's Python API cannot stop its thread pool (suite/backends/executorch/et_backend.py).
    BackendInfo("executorch", "suite.backends.executorch.et_backend:prepare",
                "ExecuTorch with the XNNPACK delegate on a .pte program (cached; one per input shape)",
                requires=("torch", "executorch"), options_key="executorch",
                options="suite.backends.executorch.et_backend:ExecutorchOptions",
                precheck="suite.backends.executorch.et_backend:precheck",
                bare="suite.backends.executorch.et_backend:bare"),
    BackendInfo("executorch-int8", "suite.backends.executorch.et_backend:prepare_int8",
                "ExecuTorch/XNNPACK on the program quantised to int8 (PT2E, static; calibrated on the dataset "
                "when the run has one, else on seeded inputs)",
                requires=("torch", "executorch"), options_key="executorch",
                options="suite.backends.executorch.et_backend:ExecutorchOptions",
                precheck="suite.backends.executorch.et_backend:precheck_int8",
                bare="suite.backends.executorch.et_backend:bare", calibrates=True),
    # Reads the ONNX export ORT runs (the [ort] section decides exporter, opset and cache). No quiesce:
    # OpenVINO has no API to park its pool.
    BackendInfo("openvino", "suite.backends.openvino_backend:prepare",
                "OpenVINO's CPU plugin on the ONNX export ORT runs (fp32, latency hint, static shapes)",
                requires=("openvino", "onnx", "onnxruntime"), options_key="ort", options="suite.backends.ort.ort_options:OrtOptions",
                precheck="suite.backends.openvino_backend:precheck", runs_onnx_files=True,
                bare="suite.backends.openvino_backend:bare"),
)


def load_target(target: str) -> Any:  # Any: imported by name, its type is what the table's field promises
    """The object a "module:attribute" string of the table names (imported now)."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


@lru_cache(maxsize=1)
def _plugins() -> tuple[BackendInfo, ...]:
    from importlib.metadata import entry_points


    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            info = ep.load()
            info = info() if callable(info) and not isinstance(info, BackendInfo) else info
        except Exception as exc:
            raise BenchError(f"The backend plugin '{ep.name}' ({ep.value}) cannot be loaded: "
                             f"{type(exc).__name__}: {exc}") from None
        if not isinstance(info, BackendInfo):
            raise BenchError(f"The backend plugin '{ep.name}' ({ep.value}) is not a suite.backends.BackendInfo")
        found.append(info)
    return tuple(found)


def backends() -> dict[str, BackendInfo]:
    """Every backend by name: the built-in ones in the table's order, then the plugins' in the order
    they load. A plugin cannot replace a built-in backend (a results file's 'eager' must mean one
    thing). How the report draws a backend is the report's own table (suite/report/backend_style.py)."""
    table = {b.name: b for b in BUILTIN}
    for info in _plugins():
        if info.name in table:
            raise BenchError(f"The backend plugin '{info.name}' uses the name of a built-in backend; rename it")
        table[info.name] = info
    return table


def builtin_names() -> list[str]:
    """Names for help texts (no plugin scan: `bench --help` stays instant)."""
    return [b.name for b in BUILTIN]


def backend_info(name: str) -> BackendInfo:
    table = backends()
    if name not in table:
        hint = closest(name, list(table))
        raise BenchError(f"Unknown backend '{name}'; available: {', '.join(table)}"
                         + (f" (did you mean {hint[0]}?)" if hint else ""))
    return table[name]


def quiesce_hook(name: str) -> Callable[[Prepared], None] | None:
    """The backend's declared quiesce function (see BackendInfo.quiesce), or None."""
    info = backend_info(name)
    return load_target(info.quiesce) if info.quiesce else None


def reference_backend() -> str:
    return next(b.name for b in BUILTIN if b.reference)


def option_models() -> dict[str, type[BaseModel]]:
    """Config section -> options model, for every backend that has options."""
    out: dict[str, type[BaseModel]] = {}
    for info in backends().values():
        if info.options_key and info.options and info.options_key not in out:
            out[info.options_key] = load_target(info.options)
    return out
