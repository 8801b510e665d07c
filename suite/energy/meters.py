"""The energy meters the suite knows, in one place: name -> "module:factory".

A factory takes the energy options (`suite.config.bench_config.EnergyConfig`) and returns a meter
(`suite.energy.meter.Meter`: a CounterMeter or SampledMeter), or raises `MeterUnavailable` with
the reason and the fix. suite.energy.select imports a module only when its meter is probed.

Another package adds a meter with an entry point in the group `bench.meters`:

    # its pyproject.toml
    [project.entry-points."bench.meters"]
    usbmeter = "bench_usbmeter:probe"

after which `meter = "usbmeter"` (or `bench run --meter usbmeter`) selects it, and `auto`
tries it after the built-in sensors and before the `estimate` fallback. A built-in name or
alias cannot be taken over by a plug-in.

A leaf module (it imports only suite.errors): suite.config.bench_config validates meter names against it.
"""

from __future__ import annotations

from importlib import metadata

from suite.errors import ConfigError, closest

ENTRY_POINT_GROUP = "bench.meters"
FALLBACK = "estimate"  # labelled `estimated`: tried last by `auto`
BUILTIN = {  # in `auto` order: the most direct reading first
    "rapl": "suite.energy.rapl:probe",
    "nvml": "suite.energy.nvml:probe",
    "jetson": "suite.energy.jetson:probe",
    "rpi5-pmic": "suite.energy.rpi:probe",
    FALLBACK: "suite.energy.estimate:probe",
}
METER_ORDER = tuple(BUILTIN)
METHODS = {"rapl": "counter", "nvml": "counter or sampled", "jetson": "sampled", "rpi5-pmic": "sampled",
           "estimate": "estimated"}
ALIASES = {"rpi5": "rpi5-pmic", "rpi": "rpi5-pmic", "pmic": "rpi5-pmic", "jtop": "jetson", "ina3221": "jetson",
           "gpu": "nvml", "nvidia": "nvml", "codecarbon": "estimate", "estimated": "estimate"}


def plugin_meters() -> dict[str, str]:
    """Meters other installed packages declare (entry points `bench.meters`), sorted by name.
    Read on each call: cheap next to an energy window, and a package installed since is seen."""
    out: dict[str, str] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        name = ep.name.strip().lower()
        if name and name != "auto" and name not in BUILTIN and name not in ALIASES:
            out.setdefault(name, ep.value)
    return dict(sorted(out.items()))


def known_meters() -> dict[str, str]:
    """Every meter, in `auto` order: the built-in sensors, the plug-ins, then the estimate."""
    sensors = {k: v for k, v in BUILTIN.items() if k != FALLBACK}
    return {**sensors, **plugin_meters(), FALLBACK: BUILTIN[FALLBACK]}


def canonical_meter_name(name: str) -> str:
    """The meter a user's word stands for ("auto" or a known meter's name; any case, aliases
    allowed). An unknown name is a ConfigError naming the choices and the closest ones."""
    key = str(name).strip().lower()
    if key == "auto" or key in BUILTIN:
        return key
    if key in ALIASES:
        return ALIASES[key]
    plugins = plugin_meters()  # read only when the name is not a built-in one
    if key in plugins:
        return key
    choices = ["auto", *METER_ORDER, *plugins]
    hint = closest(key, [*choices, *ALIASES])
    did_you_mean = f" Did you mean: {', '.join(hint)}?" if hint else ""
    raise ConfigError(f"Unknown energy meter '{name}'.{did_you_mean} Choose one of: {', '.join(choices)} "
                      f"(aliases: {', '.join(ALIASES)}).")

