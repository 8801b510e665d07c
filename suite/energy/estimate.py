"""The fallback when no power sensor exists (Raspberry Pi 4, VMs, Macs without privileges):
codecarbon's power model, sampled like a sensor and always labelled `estimated`.

codecarbon is used for what it knows — the CPU's TDP from its table (or its fallback of 4 W per
thread), its RAM power model, NVML on GPUs — but its tracker's own start/stop accounting is not:
it takes a reading at start() over an empty interval and only samples load once a second, which
makes seconds-long windows noisy. Instead codecarbon's hardware objects are asked for their power
at our sampling rate (each CPU figure is the load-based power since the previous call), and the
result is integrated like any other sampled meter.

The hardware set-up costs ~1.5 s once per process (CPU table look-up); it is cached."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, TypedDict

from suite.energy.meter import (
    Clock,
    MeterUnavailable,
    PowerReading,
    SampledMeter,
    clock_arg,
)
from suite.energy.options import EnergyConfig

_LOCK = threading.Lock()
_SETUP: CodecarbonSetup | None = None


@dataclass
class CodecarbonSetup:
    version: str
    # codecarbon's hardware objects (CPU, RAM, GPU, ...) from its tracker's private `_hardware`, read
    # duck-typed (their optional parts with getattr); tests pass stand-ins
    hardware: list[Any]
    conf: dict[str, Any]  # codecarbon's detected configuration (cpu_count, cpu_model, ram_total_size, ...)


class PortableSetup(TypedDict):
    """A CodecarbonSetup as picklable state (`portable_setup`): each part as (module, class, attributes)."""

    version: str
    conf: dict[str, Any]
    parts: list[tuple[str, str, dict[str, object]]]


def _part_label(hw: object) -> str:
    kind = type(hw).__name__
    part = getattr(hw, "chip_part", None)  # AppleSiliconChip / Raspberry: "CPU", "GPU", "RAM"
    if part:
        return str(part).lower()
    return {"CPU": "cpu", "RAM": "ram", "GPU": "gpu"}.get(kind, kind.lower())


def codecarbon_setup() -> CodecarbonSetup:
    """Detect the hardware once per process, the way codecarbon's tracker does."""
    global _SETUP
    with _LOCK:
        if _SETUP is not None:
            return _SETUP
        try:
            import codecarbon
            from codecarbon import OfflineEmissionsTracker
        except ImportError as exc:
            raise MeterUnavailable("estimate", "codecarbon is not installed.", "pip install codecarbon") from exc
        # Its INFO/WARNING lines ("no CPU tracking mode found ...") would be printed on every run.
        logging.getLogger("codecarbon").setLevel(logging.ERROR)
        kwargs: dict[str, Any] = {"country_iso_code": "USA", "log_level": "error", "allow_multiple_runs": True}
        try:
            tracker = OfflineEmissionsTracker(output_methods=[], **kwargs)
        except TypeError:  # codecarbon < 3 has no output_methods
            tracker = OfflineEmissionsTracker(save_to_file=False, **kwargs)
        if hasattr(tracker, "get_detected_hardware"):
            tracker.get_detected_hardware()  # runs the (cached) hardware set-up
        hardware = list(getattr(tracker, "_hardware", None) or [])
        if not hardware or not all(hasattr(h, "measure_power_and_energy") for h in hardware):
            raise MeterUnavailable(
                "estimate", f"codecarbon {codecarbon.__version__} exposes no hardware power model this suite "
                "knows how to read.", "install a codecarbon release between 2.3 and 3.x")
        _SETUP = CodecarbonSetup(version=codecarbon.__version__, hardware=hardware,
                                 conf=dict(getattr(tracker, "_conf", {}) or {}))
        return _SETUP


def describe_assumptions(setup: CodecarbonSetup, sample_hz: float) -> tuple[str, ...]:
    """What codecarbon actually did on this machine, read back from its hardware objects."""
    out = [(f"ESTIMATE, not a measurement: codecarbon {setup.version} power model, queried at "
            f"{sample_hz:g} Hz and integrated")]
    threads = setup.conf.get("cpu_count")
    for hw in setup.hardware:
        label = _part_label(hw)
        if type(hw).__name__ == "CPU":
            mode = getattr(hw, "_mode", "?")
            tdp = getattr(hw, "_tdp", None)
            model = setup.conf.get("cpu_model") or getattr(hw, "_model", "unknown CPU")
            if mode == "cpu_load":
                text = (f"CPU power = TDP x load model (codecarbon 'cpu_load'; 3.x: TDP x (0.1 + 0.9 x load^3) "
                        f"with system-wide load, so other processes' CPU use counts too); TDP {tdp} W for '{model}'")
                if getattr(hw, "_is_generic_tdp", False):
                    text += " (codecarbon's generic default: CPU not found)"
                elif threads and tdp == 4 * threads:
                    text += f" (matches codecarbon's fallback of 4 W per thread x {threads} threads: CPU not in its table)"
                out.append(text)
            elif mode == "constant":
                out.append(f"CPU power = constant 50% of TDP {tdp} W for '{model}' (codecarbon 'constant' mode)")
            else:
                out.append(f"CPU power from codecarbon's '{mode}' interface for '{model}'")
        elif type(hw).__name__ == "RAM":
            try:
                ram_w = float(hw.total_power().W)
            except Exception:  # noqa: BLE001 - a description must not fail on a third-party model
                ram_w = float("nan")
            gb = setup.conf.get("ram_total_size")
            size = f" for {gb:.1f} GB" if isinstance(gb, (int, float)) else ""
            out.append(f"RAM power = {ram_w:g} W constant{size} (codecarbon: ~5 W per estimated DIMM on x86, "
                       "1.5 W on ARM)")
        elif type(hw).__name__ == "GPU":
            out.append("GPU power from NVML through codecarbon")
        else:
            out.append(f"{label} power from codecarbon {type(hw).__name__}")
    out.append("the rest of the machine (disks, fans, power-supply losses) is not included")
    return tuple(out)


def probe(opts: EnergyConfig, *, clock: Clock | None = None, setup: CodecarbonSetup | None = None) -> SampledMeter:
    """`setup`: the hardware objects to ask (tests pass stand-ins); None: codecarbon's, detected once."""
    setup = setup if setup is not None else codecarbon_setup()
    parts = [(_part_label(h), h) for h in setup.hardware]
    last = {"t": time.perf_counter()}

    def on_start() -> None:
        # Resets each part's reference point (the CPU load meter), so the first interval is the window's.
        for _, hw in parts:
            if hasattr(hw, "start"):
                hw.start()
        last["t"] = time.perf_counter()

    def read_power() -> PowerReading:
        now = time.perf_counter()
        dt, last["t"] = now - last["t"], now
        rails: dict[str, float] = {}
        for label, hw in parts:
            power, _energy = hw.measure_power_and_energy(last_duration=dt)
            rails[label] = rails.get(label, 0.0) + float(power.W)
        return PowerReading(total_w=sum(rails.values()), rails_w=rails)

    return SampledMeter(
        "estimate", read_power, sample_hz=opts.sample_hz, method="estimated", rule="interval",
        assumptions=describe_assumptions(setup, opts.sample_hz), on_start=on_start,
        detail=f"codecarbon {setup.version} model: " + ", ".join(label for label, _ in parts), **clock_arg(clock),
    )


def portable_setup(setup: CodecarbonSetup) -> PortableSetup:
    """The detected hardware as plain picklable state, so that the runner probes codecarbon once
    per run (~1.5 s) and hands the result to every worker (`restore_setup`). Locks and psutil
    handles cannot travel; they are marked and made anew in the worker."""
    import threading as _threading

    import psutil

    lock_type, rlock_type = type(_threading.Lock()), type(_threading.RLock())
    parts = []
    for hw in setup.hardware:
        state: dict[str, object] = {}
        for key, value in vars(hw).items():
            if isinstance(value, lock_type):
                state[key] = ("__lock__",)
            elif isinstance(value, rlock_type):
                state[key] = ("__rlock__",)
            elif isinstance(value, psutil.Process):
                state[key] = ("__process__",)
            else:
                state[key] = value
        parts.append((type(hw).__module__, type(hw).__qualname__, state))
    return {"version": setup.version, "conf": setup.conf, "parts": parts}


def restore_setup(portable: PortableSetup) -> CodecarbonSetup:
    """Install what `portable_setup` exported as this process's codecarbon set-up."""
    import importlib
    import os

    import psutil

    global _SETUP
    hardware = []
    for module, qualname, state in portable["parts"]:
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        hw = object.__new__(cls)
        for key, value in state.items():
            if value == ("__lock__",):
                value = threading.Lock()
            elif value == ("__rlock__",):
                value = threading.RLock()
            elif value == ("__process__",):
                value = psutil.Process(os.getpid())
            elif key == "_pid":
                value = os.getpid()
            setattr(hw, key, value)
        hardware.append(hw)
    with _LOCK:
        _SETUP = CodecarbonSetup(version=portable["version"], hardware=hardware, conf=portable["conf"])
    return _SETUP
