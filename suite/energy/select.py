"""Choosing a meter: "auto" takes the first usable one in order of directness
(rapl > nvml > jetson > rpi5-pmic > plug-ins > estimate); a named meter that cannot work here is
an error that says why and how to fix it. Which meters exist is in meters.py."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from suite.config import EnergyConfig
from suite.energy.base import Meter, MeterUnavailable
from suite.energy.meters import METHODS, canonical_meter_name, known_meters


@dataclass(frozen=True)
class MeterStatus:
    name: str
    usable: bool
    method: str
    reason: str  # what was found, or why not and the fix


def meter_factory(name: str) -> Callable[[EnergyConfig], Meter]:
    """A meter's factory, its module imported now. A plug-in whose module cannot be imported is
    MeterUnavailable like any meter that cannot work here, so `auto` moves on."""
    canonical = canonical_meter_name(name)
    target = known_meters().get(canonical)
    if target is None:  # "auto"
        raise ValueError("'auto' is not one meter: use select_meter()")
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in filter(None, attr.split(".")):
            obj = getattr(obj, part)
    except Exception as exc:
        raise MeterUnavailable(canonical, f"its factory {target} cannot be loaded ({type(exc).__name__}: {exc}).",
                               "reinstall the package that provides it") from exc
    return obj


def probe_meter(name: str, opts: EnergyConfig) -> Meter:
    """Build one named meter, or raise MeterUnavailable (a BenchError) with the reason and fix."""
    return meter_factory(name)(opts)


def select_meter(opts: EnergyConfig) -> Meter:
    name = canonical_meter_name(opts.meter)
    if name != "auto":
        return probe_meter(name, opts)
    reasons = []
    for candidate in known_meters():
        try:
            return probe_meter(candidate, opts)
        except MeterUnavailable as exc:
            reasons.append(f"{candidate}: {exc.reason}")
    raise MeterUnavailable("auto", "no energy meter works here (" + "; ".join(reasons) + ").",
                           "install codecarbon for estimates")


def describe_meters(opts: EnergyConfig) -> list[MeterStatus]:
    """Every meter, whether it works here, and why not (for `bench env`)."""
    out = []
    for name in known_meters():
        try:
            meter = probe_meter(name, opts)
        except MeterUnavailable as exc:
            out.append(MeterStatus(name, False, METHODS.get(name, "?"), exc.summary))
            continue
        try:
            out.append(MeterStatus(name, True, meter.method, meter.detail))
        finally:
            meter.close()
    return out
