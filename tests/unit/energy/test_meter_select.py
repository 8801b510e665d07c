"""suite.energy.select: which meter a run uses. The real meters' probing code is pointed at fake
sysfs trees laid out like the real devices (tests/fixtures/sysfs): `auto` takes the most direct
one that works, a named one that cannot work says why, and a plug-in that cannot be imported is
skipped like any meter that does not work here."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.energy.meter import MeterUnavailable
from suite.energy.meters import ENTRY_POINT_GROUP, known_meters
from suite.energy.options import EnergyConfig
from suite.energy.select import (
    describe_meters,
    meter_factory,
    probe_meter,
    select_meter,
)

SYSFS = Path(__file__).resolve().parents[2] / "fixtures" / "sysfs"


def _opts(tree: str, **kw) -> EnergyConfig:
    return EnergyConfig(sysfs_root=str(SYSFS / tree), vcgencmd="/nonexistent/vcgencmd", **kw)


def test_auto_takes_rapl_where_the_counters_are(no_nvidia_driver):
    meter = select_meter(_opts("rapl_laptop"))
    try:
        assert (meter.name, meter.method) == ("rapl", "counter")
    finally:
        meter.close()


def test_a_named_meter_that_cannot_work_says_why_and_how_to_fix_it():
    with pytest.raises(MeterUnavailable) as err:
        probe_meter("jetson", _opts("rapl_laptop"))
    assert err.value.meter == "jetson" and err.value.reason and str(err.value).startswith(
        "The 'jetson' energy meter is not usable here: ")
    with pytest.raises(MeterUnavailable):
        select_meter(_opts("rapl_laptop", meter="rpi5"))  # the alias names the Pi's PMIC meter


def test_every_meter_is_described_in_auto_order(no_nvidia_driver):
    statuses = describe_meters(_opts("rapl_laptop"))
    assert [s.name for s in statuses] == list(known_meters())
    by = {s.name: s for s in statuses}
    assert by["rapl"].usable and by["rapl"].method == "counter"
    assert not by["jetson"].usable and not by["rpi5-pmic"].usable and by["rpi5-pmic"].reason


def test_a_plugin_that_cannot_be_imported_is_unavailable_not_a_crash(tmp_path, monkeypatch):
    dist = tmp_path / "bench_broken-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nbroken = bench_broken_missing:probe\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MeterUnavailable, match=r"its factory bench_broken_missing:probe cannot be loaded "
                                               r"\(ModuleNotFoundError"):
        meter_factory("broken")
    with pytest.raises(ValueError, match="'auto' is not one meter"):
        meter_factory("auto")
