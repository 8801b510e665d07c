"""Energy and carbon per inference.

Meters (one module each, chosen automatically or by name): rapl (powercap counters), nvml (NVIDIA
GPUs), jetson (jtop or INA3221/INA238 sysfs), rpi5-pmic (`vcgencmd pmic_read_adc`), estimate
(codecarbon's model, always labelled `estimated`). Every result says how it was obtained.

Usage (suite.runner and suite.measure). A meter is selected where it is used and closed after
(NVML shutdown, jtop disconnect): in the runner for each idle baseline, in the case's worker for
each case:
    # runner, before a case, when the baseline is due (re-measured every baseline_every_s):
    meter = select_meter(opts)
    try:
        baseline = measure_idle(meter, opts, previous=baseline)
    finally:
        meter.close()
    # worker, per case:
    meter = select_meter(opts)
    try:
        energy, flags = measure_energy(fn, items_per_call, meter, opts, baseline)
        carbon = carbon_for(energy, opts)
    except MeterError as exc:                        # energy_error; the case stands
        ...
    finally:
        meter.close()
"""

from suite.energy.base import (
    CounterMeter,
    Meter,
    MeterError,
    MeterUnavailable,
    PowerReading,
    PowerTrace,
    SampledMeter,
    WindowReading,
    integrate_trace,
)
from suite.energy.carbon import (
    CAR_G_CO2_PER_KM,
    EQUIVALENTS,
    SMARTPHONE_G_CO2_PER_CHARGE,
    GridIntensity,
    carbon_for,
    grid_intensity,
    known_regions,
    lookup_region,
)
from suite.energy.measure import (
    DRIFT_THRESHOLD,
    MIN_SENSOR_PERIODS,
    RECOMMENDED_MIN_WINDOW_S,
    IdleBaseline,
    baseline_drift,
    baseline_drifted,
    baseline_due,
    measure_energy,
    measure_idle,
    window_s,
)
from suite.energy.options import EnergyOptions, sysfs_root, vcgencmd_command
from suite.energy.select import (
    METER_ORDER,
    MeterStatus,
    canonical_meter_name,
    describe_meters,
    probe_meter,
    select_meter,
)

__all__ = [
    "CAR_G_CO2_PER_KM",
    "DRIFT_THRESHOLD",
    "EQUIVALENTS",
    "METER_ORDER",
    "MIN_SENSOR_PERIODS",
    "RECOMMENDED_MIN_WINDOW_S",
    "SMARTPHONE_G_CO2_PER_CHARGE",
    "CounterMeter",
    "EnergyOptions",
    "GridIntensity",
    "IdleBaseline",
    "Meter",
    "MeterError",
    "MeterStatus",
    "MeterUnavailable",
    "PowerReading",
    "PowerTrace",
    "SampledMeter",
    "WindowReading",
    "baseline_drift",
    "baseline_drifted",
    "baseline_due",
    "canonical_meter_name",
    "carbon_for",
    "describe_meters",
    "grid_intensity",
    "integrate_trace",
    "known_regions",
    "lookup_region",
    "measure_energy",
    "measure_idle",
    "probe_meter",
    "select_meter",
    "sysfs_root",
    "vcgencmd_command",
    "window_s",
]
