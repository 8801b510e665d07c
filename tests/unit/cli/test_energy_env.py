"""suite.cli.energy_env: the rows `bench env` prints for the energy meters, from the real meters
probed against a fake RAPL tree (tests/fixtures/sysfs/rapl_laptop)."""

from __future__ import annotations

from pathlib import Path

from suite.cli.energy_env import METER_TABLE_COLUMNS, meter_table
from suite.energy.meters import known_meters
from suite.energy.options import EnergyConfig

RAPL = str(Path(__file__).resolve().parents[2] / "fixtures" / "sysfs" / "rapl_laptop")


def test_auto_marks_the_first_usable_meter(no_nvidia_driver):
    rows = meter_table(EnergyConfig(sysfs_root=RAPL, vcgencmd="/nonexistent/vcgencmd"))
    assert [r["meter"] for r in rows] == list(known_meters())
    assert all(tuple(r) == METER_TABLE_COLUMNS for r in rows)
    usable = [r for r in rows if r["usable"] != "no"]
    assert usable[0]["meter"] == "rapl" and usable[0]["usable"] == "yes (auto)"
    assert all(r["usable"] == "yes" for r in usable[1:])  # auto picks one
    assert all(r["detail"] for r in rows)  # what was found, or why not


def test_a_named_meter_is_marked_selected(no_nvidia_driver):
    rows = meter_table(EnergyConfig(sysfs_root=RAPL, vcgencmd="/nonexistent/vcgencmd", meter="RAPL"))
    assert {r["meter"]: r["usable"] for r in rows}["rapl"] == "yes (selected)"
    assert "yes (auto)" not in {r["usable"] for r in rows}
