"""suite.energy.meters: the meter table. Every built-in target imports; aliases and case fold to
one name; a package's entry point (a real dist-info on sys.path) adds a meter between the
sensors and the estimate, and cannot take a built-in name."""

from __future__ import annotations

import importlib

import pytest

from suite.energy.meters import (
    ALIASES,
    BUILTIN,
    ENTRY_POINT_GROUP,
    FALLBACK,
    METER_ORDER,
    METHODS,
    canonical_meter_name,
    known_meters,
    plugin_meters,
)
from suite.errors import ConfigError


def test_every_builtin_target_is_an_importable_callable():
    for name, target in BUILTIN.items():
        module, _, attr = target.partition(":")
        assert callable(getattr(importlib.import_module(module), attr)), name
    assert set(METHODS) == set(BUILTIN) and METER_ORDER[-1] == FALLBACK


@pytest.mark.parametrize("word, name", [("AUTO", "auto"), (" RAPL ", "rapl"), ("rpi5", "rpi5-pmic"),
                                        ("Jtop", "jetson"), ("codecarbon", "estimate"), ("nvidia", "nvml")])
def test_names_and_aliases_fold_to_one_meter(word, name):
    assert canonical_meter_name(word) == name


def test_every_alias_names_a_builtin_meter():
    assert set(ALIASES.values()) <= set(BUILTIN)


def test_an_unknown_meter_names_the_choices_and_the_closest():
    with pytest.raises(ConfigError) as err:
        canonical_meter_name("rapll")
    text = str(err.value)
    assert "Unknown energy meter 'rapll'. Did you mean: rapl" in text and "Choose one of: auto, rapl" in text


def _install_plugin(tmp_path, monkeypatch, lines: str) -> None:
    dist = tmp_path / "bench_usbmeter-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-usbmeter\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    monkeypatch.syspath_prepend(str(tmp_path))


def test_a_plugin_meter_comes_after_the_sensors_and_before_the_estimate(tmp_path, monkeypatch):
    _install_plugin(tmp_path, monkeypatch, "USBMeter = bench_usbmeter:probe\nrapl = evil:probe\nauto = evil:probe\n"
                                            "gpu = evil:probe\n")
    assert plugin_meters() == {"usbmeter": "bench_usbmeter:probe"}  # no built-in name, alias or "auto" taken
    assert canonical_meter_name("UsbMeter") == "usbmeter"
    order = list(known_meters())
    assert order == [*METER_ORDER[:-1], "usbmeter", FALLBACK]
    assert known_meters()["rapl"] == BUILTIN["rapl"]
