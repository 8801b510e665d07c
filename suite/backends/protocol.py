"""The backend protocol: turn a built model into a callable that runs one forward pass.

A backend owns everything between "inputs ready" and "outputs ready": sessions, device
placement, synchronisation. The timed loop (metrics/latency.py) only calls `run`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

from suite.backends.parity import flatten_outputs, to_numpy
from suite.models.entry import ModelEntry
from suite.models.inputs import Array, Inputs
from suite.results.schema import ExportInfo, ParityResult, RuntimeSettings

if TYPE_CHECKING:
    import torch

# A case's inputs by name: torch tensors, or numpy arrays for an .onnx model run without torch
# (suite.models.inputs.make_inputs makes both from the same seeded numpy values). Outputs as
# parity compares them: flattened, on the host.
HostOutputs = list[Array]


class Prepared(Protocol):
    name: str
    device: str
    synchronized: bool  # True when run() waits for the device before returning
    export: ExportInfo | None
    parity: ParityResult | None
    flags: list[str]  # notes for the case's result (e.g. what the timed run includes)

    def run(self, inputs: Inputs) -> object:
        """One forward pass; returns when the outputs are ready (a tensor, a tuple or dict of
        them, an ONNX Runtime IO binding...: what the runtime gives)."""

    def context(self) -> contextlib.AbstractContextManager[object]:
        """Entered once around the whole timed loop (e.g. torch.inference_mode)."""

    def close(self) -> None: ...

    def outputs(self, inputs: Inputs) -> HostOutputs:
        """One forward through the very path that is timed, outputs flattened (see
        suite.backends.parity.flatten_outputs) and on the host: what parity compares."""

    def fallback_reference(self, inputs: Inputs) -> tuple[str, HostOutputs] | None:
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

    def context(self) -> contextlib.AbstractContextManager[object]:
        return contextlib.nullcontext()

    def run(self, inputs: Inputs) -> object:  # pragma: no cover - every backend defines it
        raise NotImplementedError

    def outputs(self, inputs: Inputs) -> HostOutputs:
        return [to_numpy(t) for t in flatten_outputs(self.run(inputs))]

    def fallback_reference(self, inputs: Inputs) -> tuple[str, HostOutputs] | None:
        return None

    def parity_tolerance(self, configured: float) -> float:
        return configured

    def runtime_settings(self) -> RuntimeSettings | None:
        return None

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class Calibration:
    """Real inputs a quantising backend calibrates on (BackendInfo.calibrates): the run's dataset,
    preprocessed as its dataset pass preprocesses it, in batches of the case's shapes."""

    source: str  # what the case says it was calibrated on, e.g. "digits (split test)"
    identity: str  # the samples' content and preprocessing: part of the quantised artefact's cache key
    size: int  # samples available
    batches: Callable[[int], Iterator[Inputs]]  # batches covering the first n samples (the last one padded)


@dataclass
class PrepareRequest:
    """Everything a backend needs to prepare one case."""

    model: torch.nn.Module | None  # None for .onnx sources
    entry: ModelEntry
    inputs: Inputs  # the case's inputs on the case's device
    device: str
    threads: int
    # The backend's options model (its config section, suite.backends.BackendInfo.options), or a
    # dict of its fields; None: the defaults.
    options: BaseModel | dict[str, object] | None = None
    parity_tolerance: float = 1e-3
    calibration: Calibration | None = None  # given to a backend that calibrates when the run has a dataset
