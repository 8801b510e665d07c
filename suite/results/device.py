"""What a results file records about the machine: its environment, its measured ceilings
(`bench peak`) and its fairness audit (`bench audit`)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from suite.results.fields import Count, Ms, NonNegative, Rate, _Model

# ----------------------------------------------------------------------------- environment


class PeakFigure(_Model):
    """One measured ceiling (suite.metrics.peak): the rate of the fastest of repeated whole passes
    (STREAM's "Best Rate"), the median pass's rate, and how it was obtained."""

    value: Rate  # FLOP/s or bytes/s of the fastest call
    median_value: Rate | None = None  # of the median call (what the neighbours left of the device)
    spread: NonNegative  # IQR / median of the repeated calls' times
    repeats: Count
    size: int | None = None  # GEMM: n of the n x n product that gave the best rate
    method: str


class DevicePeaks(_Model):
    """A device's measured ceilings, the roofs of its roofline: compute (best sustained fp32 GEMM
    of the engines tried) and memory (the faster of torch's STREAM triad and ONNX Runtime's STREAM
    add, which move the same bytes; on CUDA the triad)."""

    device: str  # cpu | cuda:0
    threads: int | None = None  # CPU: the run's thread count
    gemm_flops_s: Rate
    gemm: dict[str, PeakFigure] = Field(default_factory=dict)  # torch.mm, onnxruntime.MatMul
    bandwidth_bytes_s: Rate
    bandwidth: dict[str, PeakFigure] = Field(default_factory=dict)  # copy, triad, onnxruntime.Add
    measured_at: datetime
    duration_s: NonNegative
    cached: bool = False  # loaded from the per-machine cache rather than measured by this run
    key: str = ""  # cache key: machine, device, threads, library versions


class AuditCase(_Model):
    """One case of a fairness audit (`bench audit`): its median and peak RSS in each mode, one per
    pair of the audit, in pair order. See suite/results/fairness.py for what they say."""

    model: str
    backend: str
    batch_size: int = Field(ge=1)
    input_size: float | None = None
    interleaved_ms: list[Ms]  # the suite's default path: one worker, alternating rounds with the other backends
    alone_ms: list[Ms]  # the backend alone in its own worker (--no-interleave)
    bare_ms: list[Ms] = Field(default_factory=list)  # a hand-written loop in a fresh process (empty: none)
    interleaved_rss_bytes: list[Count] = Field(default_factory=list)  # peak RSS as the default path reports it
    alone_rss_bytes: list[Count] = Field(default_factory=list)


class FairnessAudit(_Model):
    """`bench audit`: does sharing a worker change what each backend measures, on this machine?"""

    measured_at: datetime
    threads: int = Field(ge=1)
    pairs: int = Field(ge=1)
    tolerance: float = Field(gt=0, lt=1)  # the relative departure still called fair
    duration_s: NonNegative
    key: str = ""  # cache key: machine, threads, library versions
    method: str
    cases: list[AuditCase] = Field(default_factory=list)
    # the cores' round trip (suite/machine/core_latency.py), probed before each mode of each pair and
    # after the last, in order: the host moving the CPUs apart mid-audit shows here
    core_round_trip_ns: list[NonNegative] = Field(default_factory=list)
    core_round_trip_method: str = ""


class Environment(_Model):
    hostname: str
    os: str
    kernel: str
    machine: str  # uname -m
    cpu_model: str
    cores_physical: int | None = None
    cores_logical: int | None = None
    cpu_max_mhz: float | None = None
    governor: str | None = None
    ram_bytes: int | None = None
    device_model: str | None = None  # Raspberry Pi / Jetson from the device tree
    platform: str = "x86"  # x86 | arm64 | l4t
    in_container: bool = False
    # Set when the run executed under CPU emulation (suite/machine/emulation.py: e.g. qemu-user running
    # arm64 code on x86): how it was detected. Its timings describe the emulator, not the device.
    emulation: str | None = None
    accelerators: list[str] = Field(default_factory=list)
    jetson_power_mode: str | None = None
    python: str = ""
    packages: dict[str, str] = Field(default_factory=dict)
    peaks: list[DevicePeaks] = Field(default_factory=list)  # measured ceilings (bench peak), one per device
    fairness: FairnessAudit | None = None  # the latest `bench audit` of this machine at the run's threads
