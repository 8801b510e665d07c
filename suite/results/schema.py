"""Typed results: what was run (CaseSpec) kept apart from what was observed (CaseResult).

Raw data is the source of truth: every latency sample is stored, summaries are derived
with `suite.stats` and stored beside them for convenience. The format history is in
`history.md` next to this file; bump SCHEMA_VERSION and add a migration in `migrate.py`
whenever a stored field changes meaning or disappears.

Units are in the field names (`_ms`, `_j`, `_w`, `_bytes`).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator
from pydantic.json_schema import JsonSchemaValue

from suite.results.device import (  # noqa: F401  re-exported: the contract's one import path
    AuditCase,
    DevicePeaks,
    Environment,
    FairnessAudit,
    PeakFigure,
)
from suite.results.deployment import (  # noqa: F401
    ColdStart,
    PacedEnergy,
    PacedResult,
    PlanEstimate,
    SustainedResult,
    TimelineWindow,
)
from suite.results.fields import (  # noqa: F401
    FORMAT_NAME,
    REFERENCE_BACKEND,
    SCHEMA_VERSION,
    CaseStatus,
    Count,
    EnergyMethod,
    Flag,
    FlagMetric,
    FlagSeverity,
    Ms,
    NonNegative,
    Rate,
    _Model,
)
from suite.results.observations import (  # noqa: F401
    SUMMARY_REL_TOLERANCE,
    AccuracyResult,
    CarbonResult,
    Conditions,
    EnergyResult,
    ErrorInfo,
    ExportInfo,
    FlopStats,
    LatencyResult,
    LatencySummary,
    MemoryStats,
    ModuleFlops,
    NodeProfile,
    OpFamily,
    OpProfile,
    ParamStats,
    ParityResult,
    ProfileResult,
    RooflineResult,
    RuntimeSettings,
    TiedGroup,
    TorchBackends,
    summary_disagreement,
)

__all__ = [  # the contract's one import path: the records of fields.py, device.py and observations.py too
    "AccuracyResult",
    "AuditCase",
    "CarbonResult",
    "CaseResult",
    "CaseSpec",
    "CaseStatus",
    "ColdStart",
    "Comparison",
    "Conditions",
    "Count",
    "DevicePeaks",
    "EnergyMethod",
    "EnergyResult",
    "Environment",
    "ErrorInfo",
    "ExportInfo",
    "FORMAT_NAME",
    "FairnessAudit",
    "Flag",
    "FlagMetric",
    "FlagSeverity",
    "FlopStats",
    "LatencyResult",
    "LatencySummary",
    "MemoryStats",
    "ModuleFlops",
    "Ms",
    "NodeProfile",
    "NonNegative",
    "OpFamily",
    "OpProfile",
    "PacedEnergy",
    "PacedResult",
    "ParamStats",
    "ParityResult",
    "PeakFigure",
    "PlanEstimate",
    "ProfileResult",
    "REFERENCE_BACKEND",
    "Rate",
    "RooflineResult",
    "RunResult",
    "RuntimeSettings",
    "SCHEMA_VERSION",
    "SUMMARY_REL_TOLERANCE",
    "SustainedResult",
    "TiedGroup",
    "TimelineWindow",
    "TorchBackends",
    "_Model",
    "_fmt_num",
    "case_id",
    "json_schema",
    "summary_disagreement",
    "utc_now",
]


# ----------------------------------------------------------------------------- case identity


class CaseSpec(_Model):
    """The frozen identity of one measurement: everything that was chosen, nothing observed."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    model: str  # the name the user gave (registry name, torchvision:..., file path)
    source: str  # registry | torchvision | transformers | file | onnx
    modality: str
    backend: str  # eager | ort | ort-int8
    device: str = "cpu"
    batch_size: int = Field(ge=1)
    size_axis: str | None = None  # resolution | seq_len | audio_seconds | None
    input_size: float | None = None  # value on size_axis
    input_shapes: dict[str, list[int]] = Field(default_factory=dict)
    threads: int = Field(ge=1)
    dtype: str = "float32"
    resize: str | None = None  # how images were resized for the dataset pass (None: no dataset)

    @property
    def case_id(self) -> str:
        return case_id(self)

    @property
    def label(self) -> str:
        size = "" if self.input_size is None else f" {self.size_axis}={_fmt_num(self.input_size)}"
        resize = "" if self.resize is None else f" {self.resize}"
        return f"{self.model} [{self.backend}] b={self.batch_size}{size}{resize}"


def _fmt_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def case_id(spec: CaseSpec) -> str:
    # Fields added later leave the ids of cases that do not use them unchanged.
    payload = spec.model_dump(exclude={"input_shapes"} | ({"resize"} if spec.resize is None else set()))
    digest = hashlib.sha1(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    return digest


class CaseResult(_Model):
    spec: CaseSpec
    id: str
    status: CaseStatus
    error: ErrorInfo | None = None
    started_at: datetime
    duration_s: NonNegative
    params: ParamStats | None = None
    flops: FlopStats | None = None
    latency: LatencyResult | None = None
    memory: MemoryStats | None = None
    energy: EnergyResult | None = None
    energy_error: ErrorInfo | None = None
    carbon: CarbonResult | None = None
    parity: ParityResult | None = None
    export: ExportInfo | None = None
    accuracy: AccuracyResult | None = None
    roofline: RooflineResult | None = None
    profile: ProfileResult | None = None  # --profile: per-operator time, one format across backends
    conditions: Conditions | None = None
    torch_backends: TorchBackends | None = None  # torch's settings while the case ran (torch backends only)
    runtime: RuntimeSettings | None = None  # the backend's runtime settings (issue 19)
    flags: list[Flag] = Field(default_factory=list)  # every reason to doubt a number of this case, once
    # Wall seconds per phase (worker_start, build, flops, prepare (export + parity), warmup,
    # sampling, energy, paced, sustained, profile, dataset, repeats; outside the worker: memory,
    # cold_start); interleaved cases share their rounds' time.
    phases_s: dict[str, NonNegative] | None = None
    cold_start: ColdStart | None = None  # a fresh process's import, load and first call (issue 22)
    paced: PacedResult | None = None  # --rate: the forward pass at a fixed rate, idle between calls (issue 22)
    sustained: SustainedResult | None = None  # --sustain: minutes back to back, a timeline in windows (issue 22)
    estimate: PlanEstimate | None = None  # the plan's predicted wall time beside the actual one (issue 22)

    @model_validator(mode="after")
    def _id_is_the_spec(self) -> CaseResult:
        # --resume skips the cases whose id is done and the report matches on ids: an id that
        # is not its spec's would skip the wrong case or pair the wrong numbers.
        expected = self.spec.case_id
        if self.id != expected:
            raise ValueError(f"case id {self.id!r} does not match its spec {self.spec.label!r} "
                             f"(whose id is {expected!r})")
        return self


class Comparison(_Model):
    """ORT (or another backend) against eager for one model x size x device."""

    model: str
    device: str
    batch_size: int
    input_size: float | None
    baseline_backend: str
    candidate_backend: str
    baseline_case: str
    candidate_case: str
    ratio: float  # candidate median / baseline median (< 1: candidate faster)
    ci_low: float
    ci_high: float
    ci_level: float
    p_value: float | None
    significant: bool
    flags: list[Flag] = Field(default_factory=list)
    # On real data (both cases scored on the same samples): candidate minus baseline, in the
    # metric's own unit, the predictions that changed and the exact McNemar test of the change.
    accuracy_delta: float | None = None
    changed_predictions: int | None = None
    mcnemar_p: float | None = None
    # "paired rounds (hierarchical bootstrap)" when both were interleaved in one worker: ratio is
    # the median of the per-round ratios; None: independent bootstrap of the two sample sets.
    ci_method: str | None = None
    paired_rounds: int | None = None


class RunResult(_Model):
    format: Literal["bench-results"] = FORMAT_NAME
    schema_version: int = SCHEMA_VERSION
    suite_version: str
    run_id: str
    created_at: datetime
    finished_at: datetime | None = None
    interrupted: bool = False
    command: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    config_hash: str = ""
    environment: Environment
    cases: list[CaseResult] = Field(default_factory=list)
    comparisons: list[Comparison] = Field(default_factory=list)

    @model_validator(mode="after")
    def _each_case_once(self) -> RunResult:
        first: dict[str, int] = {}
        for i, case in enumerate(self.cases):
            j = first.setdefault(case.id, i)
            if j != i:
                raise ValueError(f"cases.{j} and cases.{i} are the same case ({case.spec.label}, id {case.id!r}): "
                                 "a run measures each case once")
        return self


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def json_schema() -> JsonSchemaValue:
    schema = RunResult.model_json_schema()
    schema["$id"] = f"https://bench-suite.dev/schema/v{SCHEMA_VERSION}.json"
    schema["title"] = f"bench results v{SCHEMA_VERSION}"
    return schema
