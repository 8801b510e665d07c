"""The backend protocol: turn a built model into a callable that runs one forward pass.

A backend owns everything between "inputs ready" and "outputs ready": sessions, device
placement, synchronisation. The timed loop (metrics/latency.py) only calls `run`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any, Protocol

from suite.backends.parity import flatten_outputs, to_numpy
from suite.results.schema import ExportInfo, ParityResult, RuntimeSettings


class Prepared(Protocol):
    name: str
    device: str
    synchronized: bool  # True when run() waits for the device before returning
    export: ExportInfo | None
    parity: ParityResult | None
    flags: list[str]  # notes for the case's result (e.g. what the timed run includes)

    def run(self, inputs: dict[str, Any]) -> Any:
        """One forward pass; returns when the outputs are ready."""

    def context(self) -> contextlib.AbstractContextManager[Any]:
        """Entered once around the whole timed loop (e.g. torch.inference_mode)."""

    def close(self) -> None: ...

    def outputs(self, inputs: dict[str, Any]) -> list[Any]:
        """One forward through the very path that is timed, outputs flattened (see
        suite.backends.parity.flatten_outputs) and on the host: what parity compares."""

    def fallback_reference(self, inputs: dict[str, Any]) -> tuple[str, list[Any]] | None:
        """(backend name, outputs) to check parity against when there is no eager model (an
        .onnx file); None: nothing to compare with."""

    def parity_tolerance(self, configured: float) -> float:
        """The relative error this backend is allowed (int8 is allowed more than fp32)."""

    def runtime_settings(self) -> RuntimeSettings | None:
        """Every setting the suite made on the runtime (threads, session options, config entries)
        and the runtime defaults the figures depend on: stored on the case (`runtime`)."""


class BackendBase:
    """Defaults for the parts of `Prepared` most backends share."""

    name: str = ""
    device: str = "cpu"
    synchronized: bool = False
    export: ExportInfo | None = None
    parity: ParityResult | None = None

    def __init__(self) -> None:
        self.flags: list[str] = []

    def context(self) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext()

    def run(self, inputs: dict[str, Any]) -> Any:  # pragma: no cover - every backend defines it
        raise NotImplementedError

    def outputs(self, inputs: dict[str, Any]) -> list[Any]:
        return [to_numpy(t) for t in flatten_outputs(self.run(inputs))]

    def fallback_reference(self, inputs: dict[str, Any]) -> tuple[str, list[Any]] | None:
        return None

    def parity_tolerance(self, configured: float) -> float:
        return configured

    def runtime_settings(self) -> RuntimeSettings | None:
        return None

    def close(self) -> None:
        pass


@dataclass
class PrepareRequest:
    """Everything a backend needs to prepare one case."""

    model: Any  # torch.nn.Module, or None for .onnx sources
    entry: Any  # suite.models.registry.ModelEntry
    inputs: dict[str, Any]  # the case's inputs on the case's device
    device: str
    threads: int
    options: Any = None  # the backend's options model (its config section), or a dict of its fields
    parity_tolerance: float = 1e-3
