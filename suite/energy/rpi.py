"""Raspberry Pi 5 board power from its PMIC's ADC (`vcgencmd pmic_read_adc`).

Each line of output is one reading, e.g.
    3V7_WL_SW_A current(0)=0.00390372A
    3V7_WL_SW_V volt(8)=3.68525800V
A rail's power is V x A where the PMIC reports both. The board total is the sum over those
rails: EXT5V (the 5 V input) has a voltage but no current reading, so the input stage's losses,
USB and HAT power are missing and the figure is an estimate that reads below wall power.
Every reading spawns vcgencmd, so 10 Hz is a sane rate; the achieved rate is reported."""

from __future__ import annotations

import re

from suite.energy.meter import (
    Clock,
    MeterError,
    MeterUnavailable,
    PowerReading,
    SampledMeter,
    clock_arg,
)
from suite.energy.options import EnergyConfig
from suite.machine.host import find_vcgencmd
from suite.machine.vcgencmd import run_vcgencmd

_LINE_RE = re.compile(r"^\s*([A-Za-z0-9_]+)_([AV])\s+(current|volt)\((\d+)\)=([-+0-9.eE]+)\s*[AV]?\s*$")


def parse_pmic_adc(text: str) -> dict[str, dict[str, float]]:
    """{rail: {"A": amps, "V": volts}} from `vcgencmd pmic_read_adc` output."""
    rails: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        m = _LINE_RE.match(line)
        if m is None:
            continue
        rail, unit, _kind, _channel, value = m.groups()
        rails.setdefault(rail, {})[unit] = float(value)
    return rails


def rails_power_w(parsed: dict[str, dict[str, float]]) -> dict[str, float]:
    return {rail: v["V"] * v["A"] for rail, v in parsed.items() if "V" in v and "A" in v}


def voltage_only(parsed: dict[str, dict[str, float]]) -> list[str]:
    return sorted(rail for rail, v in parsed.items() if "A" not in v)


def run_pmic_read_adc(command: list[str]) -> str:
    return run_vcgencmd(command, "pmic_read_adc", MeterError)


def read_power(command: list[str]) -> PowerReading:
    rails = rails_power_w(parse_pmic_adc(run_pmic_read_adc(command)))
    if not rails:
        raise MeterError("vcgencmd pmic_read_adc returned no rail with both volts and amps")
    return PowerReading(total_w=sum(rails.values()), rails_w=rails)


def probe(opts: EnergyConfig, *, clock: Clock | None = None) -> SampledMeter:
    command = find_vcgencmd(opts.vcgencmd) or ["vcgencmd"]
    try:
        parsed = parse_pmic_adc(run_pmic_read_adc(command))
    except MeterError as exc:
        fix = ("only a Raspberry Pi 5 has a PMIC ADC; on Raspberry Pi OS vcgencmd comes with the "
               "raspi-utils package (in a container, bind-mount /usr/bin/vcgencmd and /dev/vcio)")
        raise MeterUnavailable("rpi5-pmic", f"{exc}.", fix) from exc
    rails = rails_power_w(parsed)
    if not rails:
        raise MeterUnavailable("rpi5-pmic", "`vcgencmd pmic_read_adc` gave no PMIC rail readings.",
                               "only the Raspberry Pi 5 has them; a Pi 4 or older has no power sensor: use "
                               "an external USB power meter, or the estimate meter (meter = 'estimate')")
    no_current = voltage_only(parsed)
    assumptions = (
        (f"board power estimated from the Raspberry Pi 5 PMIC: sum of V x A over the {len(rails)} rails that "
         "report both (not a wall-power measurement)"),
        ("rails with a voltage but no current reading are left out: " + ", ".join(no_current)
         + "; so the 5 V input stage losses, USB and HAT power are missing and the total reads low")
        if no_current else "the 5 V input stage losses, USB and HAT power are not measured",
        f"sampled by running `{' '.join(command)} pmic_read_adc` at up to {opts.sample_hz:g} Hz and integrated",
    )
    return SampledMeter("rpi5-pmic", lambda: read_power(command), sample_hz=opts.sample_hz,
                        assumptions=assumptions, detail=f"PMIC rails: {len(rails)} with V and A",
                        **clock_arg(clock))
