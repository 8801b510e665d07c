"""What one case is made of while it is measured: the context the runner hands its worker, and
the parts of its result as each phase fills them in (suite.run.case turns them into the
CaseResult at the end). Typed parts, so that a misspelt part is a type error, not a failed case
at the end of its run."""

from __future__ import annotations

from dataclasses import dataclass, field

from suite.config.bench_config import BenchConfig
from suite.energy import IdleBaseline
from suite.energy.select import MeterProbe
from suite.results.schema import (
    AccuracyResult,
    CarbonResult,
    DevicePeaks,
    EnergyResult,
    ErrorInfo,
    ExportInfo,
    Flag,
    FlopStats,
    LatencyResult,
    MemoryStats,
    PacedResult,
    SustainedResult,
    ParamStats,
    ParityResult,
    ProfileResult,
    RuntimeSettings,
    TorchBackends,
)


@dataclass
class CaseContext:
    """What the runner hands a worker besides the case: config and shared measurements."""

    config: BenchConfig
    idle_baseline: IdleBaseline | None = None  # measured by the runner (suite.energy.BaselineSchedule)
    meter_probe: MeterProbe | None = None  # the meter the runner probed once for the whole run
    repeat: int = 0  # which of the case's worker processes this is (--repeats)
    repeats: int = 1
    peaks: list[DevicePeaks] = field(default_factory=list)  # measured once per run (the roofs)

    def peaks_for(self, device: str, threads: int) -> DevicePeaks | None:
        """The ceilings measured for `device` with `threads` (a GPU's do not depend on threads)."""
        want = None if device.startswith("cuda") else threads
        return next((p for p in self.peaks if p.device == device and p.threads == want), None)


@dataclass
class CaseParts:
    """A case's result, part by part, as its phases measure them (each None until measured)."""

    flags: list[Flag] = field(default_factory=list)
    params: ParamStats | None = None  # prepare: counted on the model (or the .onnx graph)
    flops: FlopStats | None = None
    export: ExportInfo | None = None  # prepare: what the backend made of the model
    parity: ParityResult | None = None
    torch_backends: TorchBackends | None = None
    runtime: RuntimeSettings | None = None
    latency: LatencyResult | None = None  # the timed loop (alone, or in the group's rounds)
    energy: EnergyResult | None = None  # finish: the energy window
    carbon: CarbonResult | None = None
    energy_error: ErrorInfo | None = None
    profile: ProfileResult | None = None  # finish: --profile
    accuracy: AccuracyResult | None = None  # finish: the dataset pass
    memory: MemoryStats | None = None  # close: the worker's peak memory
    paced: PacedResult | None = None  # finish: --rate, the paced window (suite.run.app_steps)
    sustained: SustainedResult | None = None  # finish: --sustain, the timeline (suite.run.app_steps)
