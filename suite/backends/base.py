"""The backend protocol: turn a built model into a callable that runs one forward pass.

A backend owns everything between "inputs ready" and "outputs ready": sessions, device
placement, synchronisation. The timed loop (metrics/latency.py) only calls `run`.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from suite.results.schema import ExportInfo, ParityResult


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


@dataclass
class PrepareRequest:
    """Everything a backend needs to prepare one case."""

    model: Any  # torch.nn.Module, or None for .onnx sources
    entry: Any  # suite.models.registry.ModelEntry
    inputs: dict[str, Any]  # the case's inputs on the case's device
    device: str
    threads: int
    options: dict[str, Any] = field(default_factory=dict)  # backend config (e.g. OrtConfig fields)
    parity_tolerance: float = 1e-3
