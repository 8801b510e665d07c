"""Energy and carbon per inference.

Meters (one module each, chosen automatically or by name): rapl (powercap counters), nvml (NVIDIA
GPUs), jetson (jtop or INA3221/INA238 sysfs), rpi5-pmic (`vcgencmd pmic_read_adc`), estimate
(codecarbon's model, always labelled `estimated`), and any that another package declares (entry
points `bench.meters`; the table is in meters.py). Every result says how it was obtained.

The options are the config's own section, `suite.config.bench_config.EnergyConfig` (`opts` below), validated
with the config: an unknown meter name is a config error before anything runs.

Usage (suite.run.runner and suite.run.case). A meter is selected where it is used and closed after
(NVML shutdown, jtop disconnect): in the runner for each idle baseline, in the case's worker for
each case:
    # runner, once per run; then before each case:
    baselines = BaselineSchedule(opts)
    if baselines.due():                              # first case, then every baseline_every_s
        baselines.measure()                          # a failure counts as an attempt too
    baseline = baselines.baseline
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

from suite.energy.carbon import (
    GridIntensity,
    carbon_for,
    grid_intensity,
    known_regions,
    lookup_region,
)
from suite.energy.meter import (
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
from suite.energy.meters import (
    ENTRY_POINT_GROUP,
    METER_ORDER,
    canonical_meter_name,
    known_meters,
)
from suite.energy.select import (
    MeterProbe,
    MeterStatus,
    describe_meters,
    meter_factory,
    probe_meter,
    probe_once,
    select_meter,
)
from suite.energy.window import (
    DRIFT_THRESHOLD,
    MIN_SENSOR_PERIODS,
    RECOMMENDED_MIN_WINDOW_S,
    BaselineSchedule,
    IdleBaseline,
    baseline_drift,
    baseline_drifted,
    measure_energy,
    measure_idle,
    window_s,
)
from suite.results.equivalents import (
    CAR_G_CO2_PER_KM,
    EQUIVALENTS,
    SMARTPHONE_G_CO2_PER_CHARGE,
)

__all__ = [
    "CAR_G_CO2_PER_KM",
    "DRIFT_THRESHOLD",
    "ENTRY_POINT_GROUP",
    "EQUIVALENTS",
    "METER_ORDER",
    "MIN_SENSOR_PERIODS",
    "RECOMMENDED_MIN_WINDOW_S",
    "SMARTPHONE_G_CO2_PER_CHARGE",
    "BaselineSchedule",
    "CounterMeter",
    "GridIntensity",
    "IdleBaseline",
    "Meter",
    "MeterError",
    "MeterProbe",
    "MeterStatus",
    "MeterUnavailable",
    "PowerReading",
    "PowerTrace",
    "SampledMeter",
    "WindowReading",
    "baseline_drift",
    "baseline_drifted",
    "canonical_meter_name",
    "carbon_for",
    "describe_meters",
    "grid_intensity",
    "integrate_trace",
    "known_meters",
    "known_regions",
    "lookup_region",
    "measure_energy",
    "measure_idle",
    "meter_factory",
    "probe_meter",
    "probe_once",
    "select_meter",
    "window_s",
]
