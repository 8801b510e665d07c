"""NVIDIA Jetson board power: jetson-stats (jtop) when its service is running, otherwise the
INA3221 / INA238 power monitors read straight from sysfs. Both are sampled and integrated: the
monitors have no energy counter.

Sysfs layouts read (paths below the configurable root; see tests/fixtures/sysfs/README.md):
  JetPack 5/6 (Orin, Xavier):  /sys/bus/i2c/devices/<bus>-<addr>/hwmon/hwmon<N>/
      in<k>_label (rail name, "NC" = not connected), in<k>_input (mV), curr<k>_input (mA);
      channel 7 is "sum of shunt voltages" and is skipped
  JetPack 4 (Nano, TX2, Xavier): /sys/bus/i2c/devices/<bus>-<addr>/iio:device<N>/
      rail_name_<k>, in_power<k>_input (mW), in_voltage<k>_input (mV), in_current<k>_input (mA)
  INA238 (Thor carrier-board input): hwmon in1_input (mV), curr1_input (mA), power1_input (uW)
The same devices also appear under /sys/bus/i2c/drivers/{ina3221,ina3221x,ina238}/.

Board total: the input rail (VIN, then POM_5V_IN, then VDD_IN, as jetson-stats does), never the
input plus its sub-rails. Only when no input rail exists (AGX Xavier, AGX Orin) is the total the
sum of the monitored rails, which is stated in the assumptions."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from suite.energy.meter import (
    Clock,
    MeterUnavailable,
    PowerReading,
    SampledMeter,
    clock_arg,
)
from suite.energy.options import EnergyConfig
from suite.machine.host import device_model, resolve_root

INPUT_RAILS = ("VIN", "POM_5V_IN", "VDD_IN")  # preference order, after jetson-stats 7.2 total_power()
JTOP_SOCKET = "run/jtop.sock"
_I2C_DIRS = ("sys/bus/i2c/devices", "sys/bus/i2c/drivers/ina3221", "sys/bus/i2c/drivers/ina3221x",
             "sys/bus/i2c/drivers/ina238")


@dataclass(frozen=True)
class Channel:
    """One monitored rail and the files that give its power."""

    name: str
    power_path: Path | None = None
    power_to_w: float = 0.0  # multiply the power file's integer by this to get watts
    volt_path: Path | None = None  # mV
    curr_path: Path | None = None  # mA

    def read_w(self) -> float:
        if self.power_path is not None:
            return int(_read(self.power_path)) * self.power_to_w
        assert self.volt_path is not None and self.curr_path is not None
        return int(_read(self.volt_path)) * int(_read(self.curr_path)) / 1e6


def _read(path: Path) -> str:
    # Some drivers append a unit ("32760 ma"): keep the first word.
    return path.read_text().split()[0]


def find_channels(root: Path) -> list[Channel]:
    channels: dict[str, Channel] = {}
    seen: set[str] = set()
    for rel in _I2C_DIRS:
        base = root / rel
        if not base.is_dir():
            continue
        driver = base.name if "drivers" in rel else ""
        for dev in sorted(base.iterdir()):
            if not dev.is_dir():
                continue
            real = os.path.realpath(dev)
            if real in seen:
                continue
            name_file = dev / "name"
            chip = name_file.read_text().strip().lower() if name_file.is_file() else driver
            if "ina3221" not in chip and "ina238" not in chip:
                continue
            seen.add(real)
            for folder in _power_folders(dev):
                found = _ina238_channels(folder) if "ina238" in chip else _ina3221_channels(folder)
                for ch in found:
                    channels.setdefault(ch.name, ch)
    return list(channels.values())


def _power_folders(dev: Path) -> list[Path]:
    out = []
    for item in sorted(dev.iterdir()):
        if item.name == "hwmon" and item.is_dir():
            out.extend(sorted(p for p in item.iterdir() if p.name.startswith("hwmon") and p.is_dir()))
        elif item.name.startswith("iio:device") and item.is_dir():
            out.append(item)
    return out


def _ina3221_channels(folder: Path) -> list[Channel]:
    out = []
    for label_file in sorted(folder.glob("in*_label")):
        k = label_file.name[2:].split("_")[0]
        label = label_file.read_text().strip()
        if not k.isdigit() or k == "7" or label.upper() == "NC" or label.lower().startswith("sum of shunt"):
            continue
        volt, curr = folder / f"in{k}_input", folder / f"curr{k}_input"
        if volt.is_file() and curr.is_file():
            out.append(Channel(label, volt_path=volt, curr_path=curr))
    for name_file in sorted(folder.glob("rail_name_*")):
        k = name_file.name.removeprefix("rail_name_")
        label = name_file.read_text().strip()
        power = folder / f"in_power{k}_input"
        volt, curr = folder / f"in_voltage{k}_input", folder / f"in_current{k}_input"
        if power.is_file():
            out.append(Channel(label, power_path=power, power_to_w=1e-3))
        elif volt.is_file() and curr.is_file():
            out.append(Channel(label, volt_path=volt, curr_path=curr))
    return out


def _ina238_channels(folder: Path) -> list[Channel]:
    # jetson-stats names the Thor carrier-board INA238 rail "VIN" (system input).
    power, volt, curr = folder / "power1_input", folder / "in1_input", folder / "curr1_input"
    if power.is_file():
        return [Channel("VIN", power_path=power, power_to_w=1e-6)]
    if volt.is_file() and curr.is_file():
        return [Channel("VIN", volt_path=volt, curr_path=curr)]
    return []


def input_rail(names: Collection[str]) -> str | None:
    """The board's input rail among these (the total board power), None when there is none."""
    return next((n for n in INPUT_RAILS if n in names), None)


def read_hwmon(channels: list[Channel]) -> PowerReading:
    rails = {ch.name: ch.read_w() for ch in channels}
    inp = input_rail(rails)
    return PowerReading(total_w=rails[inp] if inp is not None else sum(rails.values()), rails_w=rails)


def parse_jtop_power(power: dict[str, Any]) -> PowerReading:  # Any: jtop's power dict (jtop ships no types)
    """jtop's `jetson.power`: {'rail': {NAME: {'power': mW, ...}}, 'tot': {'power': mW, 'name': ...}}.
    'tot' is already the input rail when there is one (jtop removes it from 'rail')."""
    rails = {name: float(v["power"]) / 1000.0 for name, v in power.get("rail", {}).items()}
    tot = power.get("tot") or {}
    if "power" not in tot:
        raise ValueError("jtop reported no total power")
    if tot.get("name"):
        rails[tot["name"]] = float(tot["power"]) / 1000.0
    return PowerReading(total_w=float(tot["power"]) / 1000.0, rails_w=rails)


def _total_assumption(names: list[str]) -> str:
    inp = input_rail(names)
    if inp:
        return (f"total board power = the {inp} input rail; the other rails ({', '.join(n for n in names if n != inp)}) "
                "are parts of it and are reported, not added")
    return (f"no input rail on this module: total = sum of the monitored rails ({', '.join(names)}), as "
            "jetson-stats does; the carrier board is not included")


def _try_jtop(root: Path, opts: EnergyConfig, notes: list[str]) -> SampledMeter | None:
    if not (root / JTOP_SOCKET).exists():
        notes.append(f"jtop service socket /{JTOP_SOCKET} not found: reading the power monitors directly")
        return None
    try:
        from jtop import jtop  # jetson-stats, optional
    except ImportError:
        notes.append("jetson-stats is not installed: reading the power monitors directly")
        return None
    interval = 1.0 / opts.sample_hz
    client = jtop(interval=interval)
    try:
        client.start()
        first = parse_jtop_power(client.power)
    except Exception as exc:  # noqa: BLE001 - JtopException and friends: fall back to sysfs
        notes.append(f"jtop unusable ({exc}): reading the power monitors directly")
        with contextlib.suppress(Exception):  # closing a client that never connected
            client.close()
        return None
    names = sorted(first.rails_w)
    with contextlib.suppress(Exception):  # the service may run at another client's speed
        interval = float(client.interval) if float(client.interval) > 0 else interval
    assumptions = (
        (f"power from jetson-stats (jtop) at its {interval:g} s refresh, sampled at {opts.sample_hz:g} Hz and "
         "integrated (the INA monitors have no energy counter); jtop's 'avg' is not used"),
        _total_assumption(names),
    )
    return SampledMeter("jetson", lambda: parse_jtop_power(client.power), sample_hz=opts.sample_hz,
                        period_s=max(interval, 1.0 / opts.sample_hz), assumptions=assumptions,
                        detail=f"jtop: {', '.join(names)}", on_close=client.close)


def probe(opts: EnergyConfig, *, clock: Clock | None = None) -> SampledMeter:
    root = resolve_root(opts.sysfs_root)
    notes: list[str] = []
    meter = _try_jtop(root, opts, notes)
    if meter is not None:
        return meter
    channels = find_channels(root)
    if not channels:
        model = device_model(root) or ""
        if "nano 2gb" in model.lower():
            raise MeterUnavailable("jetson", f"this board ({model}) has no INA3221 power monitor.",
                                   "none on this board: use an external USB power meter, or the estimate meter (meter = 'estimate')")
        where = f" ({model})" if model else ""
        raise MeterUnavailable("jetson", f"no INA3221/INA238 power monitor under {root / 'sys/bus/i2c'}{where}.",
                               "on a Jetson, mount /sys read-only into the container; elsewhere use another meter")
    try:
        first = read_hwmon(channels)
    except (OSError, ValueError) as exc:
        raise MeterUnavailable("jetson", f"cannot read the power monitor: {exc}.",
                               "make the INA3221 sysfs files readable (they are world-readable on stock JetPack)") from exc
    names = list(first.rails_w)
    assumptions = (
        (f"power read from the INA3221/INA238 sysfs files, sampled at {opts.sample_hz:g} Hz and integrated "
         "(the monitors have no energy counter)"),
        _total_assumption(names),
        *notes,
    )
    return SampledMeter("jetson", lambda: read_hwmon(channels), sample_hz=opts.sample_hz,
                        assumptions=assumptions, detail=f"INA power monitor rails: {', '.join(names)}", **clock_arg(clock))
