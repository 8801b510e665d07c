"""Lower a torch model to an ExecuTorch program (.pte) with the XNNPACK delegate, once per identity.

torch.export -> (for int8: the PT2E quantiser, suite/backends/executorch/pt2e_quantize.py) ->
`to_edge_transform_and_lower(partitioner=[XnnpackPartitioner()])` -> `.to_executorch()` -> the
program's bytes in `model.pte`. The file lives in the export cache beside the ONNX exports
(suite/backends/ort/cache.py: one folder per key, every file hashed and verified before use, a damaged
entry rebuilt and the case told, a failure remembered), keyed by the model's identity (class,
structure, weights), the case's exact input shapes and dtypes, the quantisation (with its
calibration data) and the versions of torch, executorch and torchao.

Why one program per input shape: ExecuTorch plans every tensor's memory ahead of time, so a program
runs the shapes it was lowered for (a dynamic dimension needs an upper bound and XNNPACK's support
for it varies by operator). Each batch size therefore gets its own program, as deployments do.

A model torch.export cannot capture (data-dependent control flow, unsupported Python) fails as a case
of kind "export"; one the lowering or the runtime refuses (an operator without an ExecuTorch
kernel) as kind "lower"; both with the innermost message, the run goes on.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from suite.backends.ort import cache
from suite.backends.ort.export import (
    ExportKey,
    captured_output,
    cached_build,
    file_digest,
    innermost_reason,
    library_versions,
    model_fingerprint,
    order_by_signature,
)
from suite.errors import CaseError
from suite.models.entry import ModelEntry
from suite.models.inputs import Inputs, InputValue, forward_args

if TYPE_CHECKING:
    from torch import nn

PTE_FORMAT = 1  # bump when this module changes how programs are produced: old entries become misses
PTE_FILE = cache.MODEL_FILES[1]
EXPORTER = "executorch[xnnpack]"
STACK = ("torch", "executorch", "torchao")
# Graph nodes that are bookkeeping, not computation: never "left outside the delegate".
_BOOKKEEPING = {"getitem", "executorch_call_delegate", "output", "placeholder", "alloc"}

# (exported program, positional args, keyword args) -> the exported program of the quantised model
# (Any: torch.export.ExportedProgram, imported only when a program is lowered).
Quantizer = Callable[[Any, tuple[InputValue, ...], dict[str, InputValue]], Any]


def pte_key(model: nn.Module, entry: ModelEntry, inputs: Inputs,
            quantization: dict[str, object] | None = None) -> ExportKey:
    """The cache key of the program for `model` run on inputs shaped like `inputs`."""
    ordered = order_by_signature(model, inputs)
    fields = {
        "format": PTE_FORMAT,
        "artefact": "executorch program",
        "delegate": "xnnpack",
        "model": {"name": entry.name, "source": entry.source, **model_fingerprint(model),
                  "file": file_digest(entry.path) if entry.source == "file" else None},
        "inputs": [[name, list(value.shape), str(value.dtype)] for name, value in ordered.items()],
        "quantization": quantization,
        "versions": library_versions(model, STACK),
    }
    return ExportKey(fields, cache.digest(fields))


def lowering_failure(kind: str, what: str, exc: BaseException, output: str = "") -> CaseError:
    """A CaseError whose one paragraph leads with the innermost reason (and the operator the runtime
    names when one is missing)."""
    reason, at = innermost_reason(exc)
    missing = sorted({line.split("Missing operator:", 1)[1].strip()
                      for line in output.splitlines() if "Missing operator:" in line})
    extra = f" (missing operator{'s' if len(missing) > 1 else ''}: {', '.join(missing)})" if missing else ""
    err = CaseError(kind, f"ExecuTorch {what} failed: {reason}{at}{extra}")
    err.transient = isinstance(exc, (OSError, MemoryError))  # type: ignore[attr-defined]
    return err


def lower_to_pte(model: nn.Module, inputs: Inputs, path: Path, quantize: Quantizer | None = None) -> dict[str, object]:
    """Write the XNNPACK-delegated program of `model` traced on `inputs` to `path`; returns what the
    delegation covered (nodes inside XNNPACK, and the operators left to ExecuTorch's portable kernels)."""
    import torch

    args, kwargs = forward_args(order_by_signature(model, inputs))
    with captured_output() as output, warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # imported here: torchao logs a deprecation line on import, which must not reach the progress bar
        from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
        from executorch.devtools.backend_debug import get_delegation_info
        from executorch.exir import to_edge_transform_and_lower

        try:
            program = torch.export.export(model, tuple(args), kwargs=kwargs)
        except Exception as exc:
            raise lowering_failure("export", "torch.export", exc, output()) from exc
        if quantize is not None:
            program = quantize(program, args, kwargs)
        try:
            edge = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
            lowered = edge.to_executorch()
        except Exception as exc:
            raise lowering_failure("lower", "lowering to XNNPACK", exc, output()) from exc
        info = get_delegation_info(edge.exported_program().graph_module)
    path.write_bytes(lowered.buffer)
    portable = {op: b.non_delegated for op, b in sorted(info.delegation_by_operator.items())
                if b.non_delegated and op not in _BOOKKEEPING}
    return {"delegated_nodes": info.num_delegated_nodes, "portable_ops": portable,
            "input_names": list(order_by_signature(model, inputs))}


@dataclass(frozen=True)
class PteOutcome:
    path: Path
    cache_hit: bool
    export_s: float | None  # torch.export + quantisation + lowering, when it ran (now or when cached)
    meta: dict[str, Any]  # the entry's meta.json (its fields are checked where they are read)
    note: str | None = None  # why a cached entry was rebuilt


def ensure_pte(model: nn.Module, entry: ModelEntry, inputs: Inputs, root: Path, key: ExportKey,
               quantize: Quantizer | None = None, meta: dict[str, object] | None = None) -> PteOutcome:
    """The cached program under `key`, lowered first when there is none (or it is damaged)."""
    record = {"model": entry.name, "exporter": EXPORTER, "model_file": PTE_FILE, "fields": key.fields, **(meta or {})}

    def build(folder: Path) -> dict[str, object]:
        t0 = time.perf_counter()
        done = lower_to_pte(model, inputs, folder / PTE_FILE, quantize)
        return {**done, "export_s": round(time.perf_counter() - t0, 3)}

    stored, hit, rebuilt = cached_build(root, entry, key, record, build)
    seconds = stored.meta.get("export_s")
    return PteOutcome(stored.model_path, hit, float(seconds) if isinstance(seconds, (int, float)) else None,
                      stored.meta, rebuilt)
