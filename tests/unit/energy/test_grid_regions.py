"""suite.energy.carbon: grid intensities looked up offline, each held against the figure in
codecarbon's own bundled data (read here through codecarbon's DataSource, not the suite)."""

from __future__ import annotations

import pytest
from codecarbon.input import DataSource

from suite.energy.carbon import (
    G_PER_LB,
    J_PER_KWH,
    carbon_for,
    grid_intensity,
    known_regions,
    lookup_region,
)
from suite.energy.options import EnergyConfig
from suite.errors import BenchError
from suite.results.schema import EnergyResult

DATA = DataSource()


def test_every_country_of_the_global_mix_resolves_to_its_own_figure_by_code_and_by_name():
    mix = DATA.get_global_energy_mix_data()
    assert len(mix) > 100
    for iso3, row in mix.items():
        grid = lookup_region(iso3.lower())
        assert (grid.region, grid.g_per_kwh) == (iso3, pytest.approx(row["carbon_intensity"])), iso3
        if row.get("country_name"):
            assert lookup_region(row["country_name"].upper()).region == iso3


def test_nordic_zones_and_chinese_provinces_are_the_bundled_factors():
    nordic = DATA.get_nordic_country_energy_mix_data()["data"]
    for zone, row in nordic.items():
        grid = lookup_region(zone)
        assert grid.g_per_kwh == pytest.approx(row["emission_factor"]) and grid.region.endswith(f"/{zone}")
    china = DATA.get_china_provincial_emissions_data()["data"]
    code, row = next(iter(china.items()))
    grid = lookup_region(f"CHN/{row['names'][0]}")
    assert grid.g_per_kwh == pytest.approx(row["emission_factor"]) and "CO2 only, not CO2eq" in grid.source


def test_a_us_state_is_converted_from_pounds_per_megawatt_hour():
    usa = DATA.get_country_emissions_data("usa")
    state, row = next((k, v) for k, v in usa.items() if not k.startswith("_") and isinstance(v, dict))
    assert lookup_region(f"USA/{state}").g_per_kwh == pytest.approx(row["emissions"] * 453.59237 / 1000)
    assert G_PER_LB == 453.59237  # the international avoirdupois pound, in grams


def test_an_unknown_or_empty_region_is_a_clear_error():
    with pytest.raises(BenchError, match=r"Unknown grid region 'Frnace'\. Did you mean: .*France"):
        lookup_region("Frnace")
    with pytest.raises(BenchError, match="No grid region given"):
        lookup_region("  ")
    assert {"FRA", "France"} <= set(known_regions())


def test_a_users_intensity_wins_over_the_region_and_carbon_follows_by_hand():
    grid = grid_intensity(EnergyConfig(region="FRA", intensity_g_per_kwh=250.0))
    assert (grid.region, grid.g_per_kwh) == ("custom", 250.0)
    energy = EnergyResult(meter="estimate", method="estimated", window_s=2.0, inferences=4, items=8, gross_j=7.2,
                          mean_power_w=3.6, gross_j_per_inference=1.8, gross_j_per_item=0.9)
    c = carbon_for(energy, EnergyConfig(intensity_g_per_kwh=250.0))
    assert c.g_per_inference == pytest.approx(1.8 / J_PER_KWH * 250.0) == pytest.approx(1.25e-4)
    assert "energy ESTIMATED (no sensor)" in c.source
