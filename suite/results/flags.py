"""The kinds of flag a result can carry: reasons to read a number with care.

A flag is data (`suite.results.schema.Flag`): a kind from this catalogue, a severity, the
metrics it qualifies and one sentence of detail. The report and the terminal read kinds and
metrics, never the words of the detail, so rewording a message changes no badge.

Severities: "bad" (do not trust the numbers it qualifies), "warn" (read with care), "info".
Metrics: latency, energy, memory, accuracy, ratio (a backend comparison), roofline (the case's
place under its device's ceilings) and case (every number of the case, and its status).
"""

from __future__ import annotations

from dataclasses import dataclass

from suite.results.fields import FlagMetric, FlagSeverity
from suite.results.schema import Flag

LATENCY: FlagMetric = "latency"
ENERGY: FlagMetric = "energy"
MEMORY: FlagMetric = "memory"
ACCURACY: FlagMetric = "accuracy"
RATIO: FlagMetric = "ratio"
CASE: FlagMetric = "case"
ROOFLINE: FlagMetric = "roofline"


@dataclass(frozen=True)
class FlagKind:
    kind: str
    label: str  # words on the badge
    code: str  # short tag for Markdown and CSV
    severity: FlagSeverity
    metrics: tuple[FlagMetric, ...]
    explains: str  # what it means for the numbers it qualifies (the report's legend)


_KINDS = (
    # The case as a whole (derived from its status by the report, never stored).
    FlagKind("failed", "failed", "FAILED", "bad", (CASE,), "The case failed: it has no numbers to trust."),
    FlagKind("skipped", "skipped", "SKIPPED", "info", (CASE,), "The case was not run."),
    FlagKind("parity_failed", "parity failed", "PARITY", "bad", (CASE, RATIO),
             "The backend computes something else than eager: do not compare its timings."),
    FlagKind("interrupted", "run interrupted", "INT", "info", (CASE,),
             "The run was interrupted; this case finished, later ones may be missing."),
    # Latency quality (suite.metrics.latency).
    FlagKind("few_samples", "few samples", "FEW", "warn", (LATENCY,),
             "Too few timed samples for the figures shown."),
    FlagKind("drift", "drift", "DRIFT", "warn", (LATENCY,),
             "The median moved during the timed loop (its halves' CIs do not overlap): the machine changed "
             "speed, and the CI, which assumes steady samples, understates the uncertainty."),
    FlagKind("periodic_outliers", "periodic outliers", "PERIOD", "warn", (LATENCY,),
             "Slow samples recur at a regular interval (a timer, a collector, a neighbour's job): the tail "
             "figures (p90, p99, mean) describe that interference, not the model."),
    FlagKind("process_spread", "re-runs disagree", "PROC", "warn", (LATENCY,),
             "Worker processes of the same case had medians outside the CI: a re-run moves more than the "
             "CI says."),
    # Stored by suites before issue 13, which flagged on the spread alone; kept so old files render.
    FlagKind("high_variance", "high variance", "VAR", "info", (LATENCY,),
             "The samples spread widely (coefficient of variation or interquartile range above 10%); "
             "flagged by older versions of the suite, whatever the median's CI."),
    FlagKind("outliers", "outliers", "OUT", "info", (LATENCY,),
             "Some samples lie far from the mean (flagged by older versions of the suite)."),
    FlagKind("warmup_unsettled", "warm-up unsettled", "WARM", "warn", (LATENCY,),
             "The warm-up hit its cap before the running median settled."),
    FlagKind("ci_missed", "CI target missed", "CI", "warn", (LATENCY,),
             "The timed loop hit its cap before the median's CI reached its target width: the median is "
             "less precise than the target."),
    FlagKind("unsettled", "threads kept running", "UNSETTLED", "warn", (LATENCY, RATIO),
             "Interleaved with other backends, a runtime thread of the worker was still running when the next "
             "backend's block began (the settle wait hit its cap): that block may have shared its cores."),
    FlagKind("non_monotonic", "non-monotonic", "NONMONO", "warn", (LATENCY,),
             "Latency fell while the work grew."),
    # What the machine was doing (suite.machine.monitor).
    FlagKind("throttling", "throttling", "THROTTLE", "warn", (LATENCY, ENERGY),
             "The machine ran below full speed during the case; its latency is pessimistic."),
    FlagKind("swap", "swapping", "SWAP", "warn", (LATENCY, ENERGY), "The machine swapped during the case."),
    FlagKind("contention", "CPU contention", "BUSY", "warn", (LATENCY, ENERGY),
             "Other processes or virtual machines used the CPU during the case."),
    FlagKind("power_mode_change", "power mode changed", "MODE", "warn", (LATENCY, ENERGY),
             "The device's power mode changed during the case."),
    FlagKind("emulated", "emulated", "EMU", "bad", (LATENCY, ENERGY, RATIO),
             "The run executed under CPU emulation (e.g. qemu-user running arm64 code on an x86 machine): its "
             "timings and energy measure the emulator, not the device; never compare them with native numbers."),
    FlagKind("cooldown_timeout", "not cooled down", "HOT", "warn", (LATENCY, ENERGY),
             "The CPU did not cool to the target temperature before the case."),
    # Energy (suite.energy).
    FlagKind("energy_estimated", "estimated", "EST", "warn", (ENERGY,),
             "Energy is an estimate from a model of the machine, not a measurement."),
    FlagKind("energy_window", "energy window", "EWIN", "warn", (ENERGY,),
             "The energy window was short or sparsely sampled."),
    FlagKind("energy_baseline", "idle baseline", "EBASE", "warn", (ENERGY,),
             "The idle baseline is missing, old, drifting or from another meter."),
    FlagKind("energy_noise", "within noise", "ENOISE", "warn", (ENERGY,),
             "The energy above idle is within the meter's noise."),
    FlagKind("energy_failed", "no energy", "NOE", "info", (ENERGY,), "Energy was not measured."),
    # Memory (suite.metrics.memory).
    FlagKind("memory_failed", "no memory", "NOMEM", "info", (MEMORY,),
             "Peak memory was not measured for this case (the detail says why)."),
    # Paced calls (--rate, suite/metrics/paced.py).
    FlagKind("missed_deadlines", "missed deadlines", "MISS", "warn", (LATENCY,),
             "At the paced rate some calls ended after their frame's deadline: the device cannot keep that rate "
             "for this case (frames would be dropped or queued)."),
    FlagKind("stopped_early", "stopped early", "STOP", "info", (LATENCY,),
             "The sustained run stopped before its duration (the temperature limit was reached), or could not "
             "watch the limit: its timeline is shorter than asked."),
    # Cold start (suite/run/cold_start.py).
    FlagKind("cold_start_failed", "no cold start", "NOCOLD", "info", (LATENCY,),
             "The cold-start process (import, load, first call in a fresh Python) failed or was not possible "
             "for this backend; the warm figures stand."),
    # The per-operator profile (--profile, suite/profiling).
    FlagKind("profile_failed", "not profiled", "NOPROF", "info", (CASE,),
             "--profile was asked for but this case has no per-operator profile (the reason is in the detail)."),
    # Accuracy on real data (suite/run/evaluation.py).
    FlagKind("accuracy_failed", "no accuracy", "NOACC", "warn", (ACCURACY,),
             "The dataset pass failed on something only the model could reveal (NaN outputs, labels beyond its "
             "classes, the model file's evaluate() or preprocess() failing): the case keeps its timings, and has "
             "no accuracy. Problems with the data itself stop the run before it starts."),
    FlagKind("classes_differ", "class counts differ", "CLASSES", "warn", (ACCURACY,),
             "The dataset declares a different number of classes than the model scores: its labels are compared "
             "with the model's outputs by index, which means something only if the model was trained on these "
             "classes in this order."),
    # Across devices (the report derives it, never stored): issue 15.
    FlagKind("version_mismatch", "library versions differ", "VERS", "warn", (LATENCY, RATIO),
             "Devices compared side by side ran different torch / ONNX Runtime / transformers versions "
             "(local build labels such as +cpu aside): the difference measures the libraries as well as the "
             "devices. constraints.txt pins one stack for every device."),
    # The roofline (the report derives it from the stored fraction, never stored): issue 23.
    FlagKind("above_roof", "above its roof", "ROOF", "warn", (ROOFLINE,),
             "The case achieved more FLOP/s than its roof allows, which no case can: either the device's "
             "ceilings are wrong (bench peak --refresh measures them again) or the traffic model counts more "
             "bytes than the case moves (activations that stay in cache; a backend whose graph fuses "
             "operators), so its % of roof is not a fraction of what the device can do."),
    FlagKind("implausible_roof", "implausible roof", "BADROOF", "bad", (ROOFLINE,),
             "The ceilings this case was placed under are outside what its device could do (a damaged or "
             "hand-edited ceilings cache or results file): its % of roof means nothing."),
    # What a backend says about its own timing (e.g. host copies inside the timed run).
    FlagKind("backend_note", "backend note", "NOTE", "info", (LATENCY,), "A backend's note on what it timed."),
)

KINDS: dict[str, FlagKind] = {k.kind: k for k in _KINDS}


def kind_of(kind: str) -> FlagKind:
    """The catalogue entry; a kind this version does not know (a plugin's, a newer suite's) is
    shown as a neutral note under its own name."""
    return KINDS.get(kind) or FlagKind(kind, kind.replace("_", " "), kind.upper()[:8], "info", (CASE,), "")


def flag(kind: str, detail: str, *, severity: FlagSeverity | None = None,
         metrics: tuple[FlagMetric, ...] | None = None) -> Flag:
    """A flag of a catalogued kind, with the catalogue's severity and metrics unless given."""
    k = KINDS[kind]
    return Flag(kind=kind, severity=severity or k.severity, metrics=list(metrics or k.metrics), detail=detail)


def unique(flags: list[Flag]) -> list[Flag]:
    """One flag per (kind, detail), in order: the same reason never shows twice."""
    seen: set[tuple[str, str]] = set()
    out = []
    for f in flags:
        key = (f.kind, f.detail)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out
