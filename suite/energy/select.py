"""Choosing a meter: "auto" takes the first usable one in order of directness
(rapl > nvml > jetson > rpi5-pmic > estimate); a named meter that cannot work here is an error
that says why and how to fix it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from suite.energy import estimate, jetson, nvml, rapl, rpi
from suite.energy.base import Meter, MeterUnavailable
from suite.energy.options import EnergyOptions
from suite.errors import ConfigError, closest

METER_ORDER = ("rapl", "nvml", "jetson", "rpi5-pmic", "estimate")
METHODS = {"rapl": "counter", "nvml": "counter or sampled", "jetson": "sampled", "rpi5-pmic": "sampled",
           "estimate": "estimated"}
ALIASES = {"rpi5": "rpi5-pmic", "rpi": "rpi5-pmic", "pmic": "rpi5-pmic", "jtop": "jetson", "ina3221": "jetson",
           "gpu": "nvml", "nvidia": "nvml", "codecarbon": "estimate", "estimated": "estimate"}

_PROBES: dict[str, Callable[[EnergyOptions], Meter]] = {
    "rapl": rapl.probe,
    "nvml": nvml.probe,
    "jetson": jetson.probe,
    "rpi5-pmic": rpi.probe,
    "estimate": estimate.probe,
}


@dataclass(frozen=True)
class MeterStatus:
    name: str
    usable: bool
    method: str
    reason: str  # what was found, or why not and the fix


def canonical_meter_name(name: str) -> str:
    key = name.strip().lower()
    if key == "auto" or key in _PROBES:
        return key
    if key in ALIASES:
        return ALIASES[key]
    hint = closest(key, [*METER_ORDER, *ALIASES, "auto"])
    did_you_mean = f" Did you mean: {', '.join(hint)}?" if hint else ""
    raise ConfigError(f"Unknown energy meter '{name}'.{did_you_mean} Choose one of: auto, {', '.join(METER_ORDER)}.")


def probe_meter(name: str, opts: EnergyOptions) -> Meter:
    """Build one named meter, or raise MeterUnavailable (a BenchError) with the reason and fix."""
    return _PROBES[canonical_meter_name(name)](opts)


def select_meter(opts: EnergyOptions) -> Meter:
    name = canonical_meter_name(opts.meter)
    if name != "auto":
        return probe_meter(name, opts)
    reasons = []
    for candidate in METER_ORDER:
        try:
            return probe_meter(candidate, opts)
        except MeterUnavailable as exc:
            reasons.append(f"{candidate}: {exc.reason}")
    raise MeterUnavailable("auto", "no energy meter works here (" + "; ".join(reasons) + ").",
                           "install codecarbon for estimates")


def describe_meters(opts: EnergyOptions) -> list[MeterStatus]:
    """Every meter, whether it works here, and why not (for `bench env`)."""
    out = []
    for name in METER_ORDER:
        try:
            meter = probe_meter(name, opts)
        except MeterUnavailable as exc:
            out.append(MeterStatus(name, False, METHODS[name], exc.summary))
            continue
        try:
            out.append(MeterStatus(name, True, meter.method, meter.detail))
        finally:
            meter.close()
    return out
