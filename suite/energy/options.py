"""The [energy] config section: what the meters and the energy window take, typed and frozen."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from suite.energy.meters import canonical_meter_name
from suite.errors import ConfigError


class EnergyConfig(BaseModel):
    """Energy measurement (suite/energy): the config section, and the options the meters and
    measurements take as they are. Environment variables (BENCH_SYSFS_ROOT, BENCH_VCGENCMD)
    are read only when a path or command is resolved (suite/machine/host.py)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # no inf/NaN: a NaN passes every `> 0` check

    enabled: bool = True
    meter: str = Field(default="auto", description="auto | rapl | nvml | jetson | rpi5-pmic (rpi5) | estimate, "
                       "or a meter another package adds (entry points 'bench.meters')")
    min_window_s: float = Field(default=2.0, gt=0, description="each energy window lasts max(this, 20 sensor periods)")
    sample_hz: float = Field(default=10.0, gt=0, le=1000, description="background sampling rate for power sensors "
                             "(no supported sensor updates faster than 1000 Hz)")
    sysfs_root: str | None = None  # None: $BENCH_SYSFS_ROOT or "/"
    vcgencmd: str | None = None  # None: $BENCH_VCGENCMD or `vcgencmd` on PATH
    region: str = Field(default="USA", description="grid region for carbon: ISO3 country code, country name, USA/<state>, ...")
    intensity_g_per_kwh: float | None = Field(default=None, ge=0, description="g CO2eq/kWh; overrides the region's")
    baseline_every_s: float = Field(default=300.0, gt=0, description="re-measure the idle baseline when older than this")

    @field_validator("meter")
    @classmethod
    def _known_meter(cls, v: str) -> str:
        # Here, not at the first case: a mistyped name would otherwise fail every case's energy.
        try:
            canonical_meter_name(v)
        except ConfigError as exc:  # pydantic reports a ValueError under the field's name
            raise ValueError(str(exc)) from None
        return v
