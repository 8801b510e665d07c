"""Raspberry Pi throttling and under-voltage from `vcgencmd get_throttled`.

The firmware answers `throttled=0x50005`. Bits 0-3 say what is happening now, bits 16-19
what has happened since boot (they stay set):
  0 / 16  under-voltage (the supply sagged below ~4.63 V)
  1 / 17  ARM frequency capped
  2 / 18  throttled (clocks lowered)
  3 / 19  soft temperature limit active (the firmware slows down from ~80 C)
"""

from __future__ import annotations

import re

from suite.machine.vcgencmd import run_vcgencmd

NOW_MASK = 0xF
SINCE_BOOT_SHIFT = 16
SINCE_BOOT_MASK = NOW_MASK << SINCE_BOOT_SHIFT
# bit (0-3; +16 for since boot) -> (short name, the wording of a case's flag in Conditions)
CONDITIONS = {
    0: ("under-voltage", "under-voltage detected"),
    1: ("ARM frequency capped", "throttling: ARM frequency capped"),
    2: ("throttled", "throttling: CPU throttled by the firmware"),
    3: ("soft temperature limit", "thermal throttling: soft temperature limit active"),
}
BITS = {bit: name for bit, (name, _flag) in CONDITIONS.items()}
FLAGS = {bit: flag for bit, (_name, flag) in CONDITIONS.items()}
_VALUE_RE = re.compile(r"throttled=(0x[0-9a-fA-F]+|\d+)")


class ThrottledUnavailable(Exception):
    """vcgencmd is missing, not permitted, or printed something else."""


def parse_get_throttled(text: str) -> int:
    m = _VALUE_RE.search(text)
    if m is None:
        raise ThrottledUnavailable(f"unexpected `vcgencmd get_throttled` output: {text.strip()[:100]!r}")
    return int(m.group(1), 0)


def read_throttled(argv: list[str]) -> int:
    return parse_get_throttled(run_vcgencmd(argv, "get_throttled", ThrottledUnavailable))


def since_boot_conditions(value: int) -> list[str]:
    """What bits 16-19 say has happened at some time since boot."""
    return [name for bit, name in BITS.items() if value & (1 << (bit + SINCE_BOOT_SHIFT))]


def fmt(value: int) -> str:
    return f"0x{value:x}"
