"""The option sections of a configuration ([timing], [energy], [monitor], [dataset]): typed,
frozen, validated when the configuration is; no side effects."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from suite.errors import ConfigError


class Frozen(BaseModel):
    # No inf/NaN anywhere (TOML and YAML can write them): an infinite timeout or time cap
    # would hang a run, and NaN passes every `> 0` check by comparing False.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TimingPolicy(Frozen):
    """How long to warm up and how many samples to take (see metrics/latency.py)."""

    warmup_min: int = Field(3, ge=0, description="warm-up iterations always run")
    warmup_max: int = Field(50, ge=0, description="warm-up iterations at most")
    warmup_max_s: float = Field(20.0, gt=0, description="warm-up time cap, seconds")
    settle_window: int = Field(5, ge=2, description="running-median window for 'settled'")
    settle_tol: float = Field(0.05, gt=0, lt=1, description="relative change of the running median that counts as settled")
    min_iters: int = Field(10, ge=1, description="timed iterations at least (the handout's k)")
    min_time_s: float = Field(1.0, ge=0, description="timed loop runs at least this long")
    max_time_s: float = Field(10.0, gt=0, description="timed loop stops after this long even if the CI target is not met")
    max_iters: int = Field(100_000, ge=1)
    ci_target: float = Field(0.02, gt=0, lt=1, description="stop when the median's CI half-width is within this fraction")
    ci_level: float = Field(0.95, gt=0.5, lt=1)

    @model_validator(mode="after")
    def _consistent(self) -> TimingPolicy:
        if self.warmup_max < self.warmup_min:
            raise ValueError(f"timing.warmup_max ({self.warmup_max}) is below timing.warmup_min ({self.warmup_min})")
        if self.max_time_s < self.min_time_s:
            raise ValueError(f"timing.max_time_s ({self.max_time_s}) is below timing.min_time_s ({self.min_time_s})")
        if self.max_iters < self.min_iters:
            raise ValueError(f"timing.max_iters ({self.max_iters}) is below timing.min_iters ({self.min_iters})")
        return self


class EnergyConfig(Frozen):
    """Energy measurement (suite/energy): the config section, and the options the meters and
    measurements take as they are. Environment variables (BENCH_SYSFS_ROOT, BENCH_VCGENCMD)
    are read only when a path or command is resolved (suite/machine/host.py)."""

    enabled: bool = True
    meter: str = Field("auto", description="auto | rapl | nvml | jetson | rpi5-pmic (rpi5) | estimate, "
                       "or a meter another package adds (entry points 'bench.meters')")
    min_window_s: float = Field(2.0, gt=0, description="each energy window lasts max(this, 20 sensor periods)")
    sample_hz: float = Field(10.0, gt=0, le=1000, description="background sampling rate for power sensors "
                             "(no supported sensor updates faster than 1000 Hz)")
    sysfs_root: str | None = None  # None: $BENCH_SYSFS_ROOT or "/"
    vcgencmd: str | None = None  # None: $BENCH_VCGENCMD or `vcgencmd` on PATH
    region: str = Field("USA", description="grid region for carbon: ISO3 country code, country name, USA/<state>, ...")
    intensity_g_per_kwh: float | None = Field(None, ge=0, description="g CO2eq/kWh; overrides the region's")
    baseline_every_s: float = Field(300.0, gt=0, description="re-measure the idle baseline when older than this")

    @field_validator("meter")
    @classmethod
    def _known_meter(cls, v: str) -> str:
        # Here, not at the first case: a mistyped name would otherwise fail every case's energy.
        # Imported late: suite.energy imports this module.
        from suite.energy.meters import canonical_meter_name

        return checked(canonical_meter_name, v)


class MonitorConfig(Frozen):
    """Watching the machine while cases run (suite/monitor): temperature, clocks, throttling.
    The config section, and the options suite.machine.monitor takes as they are."""

    enabled: bool = True
    interval_s: float = Field(2.0, gt=0, le=60, description="sampling period while a case runs")
    # Raspberry Pi firmware starts throttling at 80 C; x86 and Jetson CPUs throttle near 100 C
    # (a laptop at 85 C under load is normal).
    hot_temp_c: float | None = Field(None, gt=0, lt=150, description="flag cases whose CPU got this hot "
                                     "(default: 80 on a Raspberry Pi, 95 elsewhere)")
    sysfs_root: str | None = None  # None: $BENCH_SYSFS_ROOT or /
    vcgencmd: str | None = None  # None: $BENCH_VCGENCMD or vcgencmd on PATH (absent: not a Pi)


class ProfileConfig(Frozen):
    """A per-operator profile of each case (`--profile`, `[profile]`): a few calls after the timed
    loop and the energy window (suite/profiling), never inside them."""

    enabled: bool = False
    calls: int = Field(10, ge=1, le=1000, description="forward calls profiled per case")
    top_nodes: int = Field(10, ge=0, le=100, description="slowest nodes (ORT) / call sites (eager) kept per case")


class DatasetConfig(Frozen):
    """Real evaluation data (`--dataset`, `[dataset]`): accuracy beside efficiency."""

    spec: str = Field(min_length=1, description="digits | imagefolder:DIR | npz:FILE | hf-disk:DIR | user")
    limit: int | None = Field(None, ge=1, description="a seeded, stratified subset of at most this many samples")
    split: str | None = Field(None, description="the split to evaluate (digits: test; hf-disk: test/validation)")
    columns: dict[str, str] = Field(default_factory=dict, description="hf-disk column names: image, label")

    @field_validator("spec")
    @classmethod
    def _known_kind(cls, v: str) -> str:
        from suite.data.dataset import parse_dataset_spec

        return checked(parse_dataset_spec, v)


def checked(check: Any, value: str) -> str:
    """`value`, after `check(value)`; its ConfigError becomes the ValueError pydantic reports under
    the field's name."""
    try:
        check(value)
    except ConfigError as exc:
        raise ValueError(str(exc)) from None
    return value
