"""NVIDIA GPU energy through NVML (the nvidia-ml-py package, imported lazily).

Volta and newer expose a total-energy counter (nvmlDeviceGetTotalEnergyConsumption, mJ since
the driver loaded), read at the window's edges. Older GPUs only report power
(nvmlDeviceGetPowerUsage, mW), which is sampled and integrated. Jetsons have no NVML: use the
jetson meter there. The NVML library object is injectable so the reading logic can be tested
without a GPU."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Protocol

from suite.energy.meter import (
    Clock,
    CounterMeter,
    MeterUnavailable,
    PowerReading,
    SampledMeter,
    clock_arg,
)
from suite.energy.options import EnergyConfig

# NVML refreshes the energy counter every 10-100 ms depending on the GPU.
NVML_COUNTER_PERIOD_S = 0.1


class Nvml(Protocol):
    """The part of pynvml (nvidia-ml-py) the meter calls: the package ships no types, and tests
    pass a stand-in. Device handles are opaque."""

    NVMLError: type[Exception]

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int) -> object: ...
    def nvmlDeviceGetTotalEnergyConsumption(self, handle: object) -> int: ...  # mJ since the driver loaded
    def nvmlDeviceGetPowerUsage(self, handle: object) -> int: ...  # mW
    def nvmlDeviceGetName(self, handle: object) -> str | bytes: ...


def _load_pynvml() -> Nvml:
    try:
        import pynvml
    except ImportError as exc:
        raise MeterUnavailable("nvml", "the NVML bindings are not installed.",
                               "pip install nvidia-ml-py") from exc
    nvml: Nvml = pynvml
    return nvml


def probe(opts: EnergyConfig, *, lib: Nvml | None = None, clock: Clock | None = None) -> CounterMeter | SampledMeter:
    nvml = lib if lib is not None else _load_pynvml()
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as exc:
        raise MeterUnavailable("nvml", f"no NVIDIA driver ({exc}).",
                               "install the NVIDIA driver, or in a container run with --gpus all") from exc
    try:
        count = int(nvml.nvmlDeviceGetCount())
        if count == 0:
            raise MeterUnavailable("nvml", "the NVIDIA driver reports no GPU.")
        handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        names = [_name(nvml, h) for h in handles]
        labels = [f"gpu{i}" for i in range(count)]
        counter_ok = all(_supports(nvml.nvmlDeviceGetTotalEnergyConsumption, nvml, h) for h in handles)
        if not counter_ok and not all(_supports(nvml.nvmlDeviceGetPowerUsage, nvml, h) for h in handles):
            raise MeterUnavailable("nvml", "these GPUs report neither an energy counter nor power: "
                                   + ", ".join(names) + ".")
    except MeterUnavailable:
        _shutdown(nvml)
        raise
    except nvml.NVMLError as exc:
        _shutdown(nvml)
        raise MeterUnavailable("nvml", f"NVML query failed: {exc}.") from exc

    gpus = ", ".join(f"{lab} {n}" for lab, n in zip(labels, names))
    common = [(f"GPU board energy from NVML for {gpus} (the GPU only: CPU, RAM and the rest of the "
               "machine are not included; all visible GPUs are counted)")]

    if counter_ok:
        def read_j() -> dict[str, float]:
            return {lab: nvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0 for lab, h in zip(labels, handles)}

        return CounterMeter(
            "nvml", read_j, period_s=NVML_COUNTER_PERIOD_S,
            assumptions=tuple(common + [("nvmlDeviceGetTotalEnergyConsumption counter (mJ) read at the "
                                         "window edges; it updates every 10-100 ms")]),
            detail=f"NVML energy counter: {gpus}", on_close=lambda: _shutdown(nvml), **clock_arg(clock),
        )

    def read_power() -> PowerReading:
        rails = {lab: nvml.nvmlDeviceGetPowerUsage(h) / 1000.0 for lab, h in zip(labels, handles)}
        return PowerReading(total_w=sum(rails.values()), rails_w=rails)

    return SampledMeter(
        "nvml", read_power, sample_hz=opts.sample_hz,
        assumptions=tuple(common + [(f"no energy counter on these GPUs (pre-Volta): nvmlDeviceGetPowerUsage "
                                     f"(mW) sampled at {opts.sample_hz:g} Hz and integrated")]),
        detail=f"NVML power sampling: {gpus}", on_close=lambda: _shutdown(nvml), **clock_arg(clock),
    )


def _supports(fn: Callable[[object], object], nvml: Nvml, handle: object) -> bool:
    try:
        fn(handle)
    except nvml.NVMLError:
        return False
    return True


def _name(nvml: Nvml, handle: object) -> str:
    try:
        name = nvml.nvmlDeviceGetName(handle)
    except nvml.NVMLError:
        return "unknown GPU"
    return name.decode() if isinstance(name, bytes) else str(name)


def _shutdown(nvml: Nvml) -> None:
    # Shutting down a half-initialised NVML must not mask the real error.
    with contextlib.suppress(Exception):
        nvml.nvmlShutdown()
