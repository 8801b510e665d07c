"""Carbon from energy and grid intensity, with codecarbon's bundled (offline) data."""

from __future__ import annotations

import pytest

from suite.energy import (
    CAR_G_CO2_PER_KM,
    SMARTPHONE_G_CO2_PER_CHARGE,
    carbon_for,
    grid_intensity,
    lookup_region,
)
from suite.energy.options import EnergyConfig
from suite.errors import BenchError
from suite.results.schema import CarbonResult, EnergyResult


def energy(j_per_inference: float, method: str = "counter") -> EnergyResult:
    return EnergyResult(meter="rapl" if method == "counter" else "estimate", method=method, window_s=2.0,
                        inferences=10, items=10, gross_j=10 * j_per_inference, mean_power_w=5 * j_per_inference,
                        gross_j_per_inference=j_per_inference, gross_j_per_item=j_per_inference)


def test_grams_per_inference_by_hand():
    # 3.6 J = 1e-6 kWh; at 400 g/kWh that is 4e-4 g per inference, 400 g per million.
    c = carbon_for(energy(3.6), EnergyConfig(intensity_g_per_kwh=400.0))
    assert isinstance(c, CarbonResult)
    assert c.region == "custom" and "given by the user" in c.source
    assert c.intensity_g_per_kwh == 400.0
    assert c.g_per_inference == pytest.approx(4e-4)
    assert c.g_per_million == pytest.approx(400.0)
    # 400 g is one mile (1.609344 km) of EPA's typical car at 400 g/mile; 400 / 8.22 phone charges.
    assert c.equivalents["car_km_per_million"] == pytest.approx(1.609344)
    assert c.equivalents["smartphone_charges_per_million"] == pytest.approx(400 / 8.22)
    assert "EPA-420-F-23-014" in c.source


def test_equivalence_factors_are_the_cited_ones():
    assert CAR_G_CO2_PER_KM == pytest.approx(400 / 1.609344)  # 248.5 g/km
    assert SMARTPHONE_G_CO2_PER_CHARGE == 8.22


@pytest.mark.parametrize(("region", "iso3", "g_per_kwh"), [
    # Checked against codecarbon 3.3.2's global energy mix (see shared NOTES: USA 369.5, FRA 56.0, DEU 381.0).
    ("USA", "USA", 369.5), ("fra", "FRA", 56.0), ("Germany", "DEU", 381.0), ("united states", "USA", 369.5),
])
def test_country_intensity_offline(region, iso3, g_per_kwh):
    grid = lookup_region(region)
    assert grid.region == iso3
    assert grid.g_per_kwh == pytest.approx(g_per_kwh, abs=0.1)
    assert "codecarbon" in grid.source and "global energy mix" in grid.source


def test_us_state_from_egrid_lb_per_mwh():
    # eGRID2023 California total output rate as shipped: 394.769 lb CO2eq/MWh x 0.45359237 kg/lb.
    for name in ("USA/california", "usa:California", "california"):
        grid = lookup_region(name)
        assert grid.region == "USA/california"
        assert grid.g_per_kwh == pytest.approx(394.769 * 0.45359237)
        assert "eGRID" in grid.source


def test_nordic_zone_and_default_region():
    assert lookup_region("SE3").region == "SWE/SE3"
    assert grid_intensity(EnergyConfig()).region == "USA"


@pytest.mark.parametrize(("region", "canonical", "g_per_kwh"), [
    # codecarbon 3.3.2 data/private_infra/nordic_emissions.json: SE3 emission_factor 27.0 gCO2eq/kWh
    ("SE3", "SWE/SE3", 27.0), ("SWE/SE3", "SWE/SE3", 27.0), ("sweden:se3", "SWE/SE3", 27.0),
])
def test_nordic_zone_intensity_value(region, canonical, g_per_kwh):
    grid = lookup_region(region)
    assert grid.region == canonical
    assert grid.g_per_kwh == pytest.approx(g_per_kwh)
    assert "bidding-zone" in grid.source and "g CO2eq/kWh" in grid.source


@pytest.mark.parametrize("region", ["CHN/beijing", "china:Beijing", "beijing"])
def test_chinese_province_intensity_is_co2_only(region):
    # codecarbon 3.3.2 data/private_infra/2023/china_provincial_emissions.json: CN-BJ 555.4 gCO2/kWh,
    # metadata convention "CO2 only (not CO2eq, no lifecycle emissions)".
    grid = lookup_region(region)
    assert grid.region == "CHN/beijing"
    assert grid.g_per_kwh == pytest.approx(555.4)
    assert "CO2 only, not CO2eq" in grid.source and "g CO2/kWh" in grid.source
    assert "g CO2eq/kWh" not in grid.source


def test_unknown_region_lists_close_matches():
    with pytest.raises(BenchError, match=r"Unknown grid region 'Frnace'. Did you mean: France"):
        carbon_for(energy(1.0), EnergyConfig(region="Frnace"))


def test_estimated_energy_is_named_in_the_carbon_source():
    c = carbon_for(energy(1.0, method="estimated"), EnergyConfig(region="FRA"))
    assert "ESTIMATED" in c.source and c.region == "FRA"
    assert c.g_per_inference == pytest.approx(1.0 / 3.6e6 * c.intensity_g_per_kwh)
