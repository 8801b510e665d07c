"""Choosing a meter: "auto" takes the first usable one in order of directness
(rapl > nvml > jetson > rpi5-pmic > plug-ins > estimate); a named meter that cannot work here is
an error that says why and how to fix it. Which meters exist is in meters.py."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from suite.energy.estimate import (
    PortableSetup,
    codecarbon_setup,
    portable_setup,
    restore_setup,
)
from suite.energy.meter import Meter, MeterUnavailable
from suite.energy.meters import METHODS, canonical_meter_name, known_meters
from suite.energy.options import EnergyConfig


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


@dataclass(frozen=True)
class MeterProbe:
    """The meter the runner chose once for the whole run, handed to every worker: its name (so a
    worker does not try the meters `auto` already found unusable) and, for the estimate, the
    codecarbon hardware set-up (the ~1.5 s probe codecarbon would otherwise redo per worker)."""

    name: str
    codecarbon: PortableSetup | None = None
    probe_s: float = 0.0  # what probing cost the parent

    def install(self) -> None:
        global _PROBED
        if self.codecarbon is not None:
            restore_setup(self.codecarbon)
        _PROBED = self.name


_PROBED: str | None = None  # set in a worker by MeterProbe.install


def probe_once(opts: EnergyConfig) -> MeterProbe:
    """Select the run's meter now (in the runner), close it, and say how to find it again."""
    import time

    t0 = time.perf_counter()
    meter = select_meter(opts)
    try:
        name = meter.name
    finally:
        meter.close()
    setup = None
    if name == "estimate":
        setup = portable_setup(codecarbon_setup())
    return MeterProbe(name=name, codecarbon=setup, probe_s=time.perf_counter() - t0)


def select_meter(opts: EnergyConfig) -> Meter:
    name = canonical_meter_name(opts.meter)
    if name == "auto" and _PROBED is not None:
        name = _PROBED
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
