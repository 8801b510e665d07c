"""suite.results.equivalents: the everyday equivalents of a carbon figure, derived by hand from
the sources the module cites (EPA-420-F-23-014, EPA's GHG equivalencies calculator) and the
international mile (1 mi = 1609.344 m exactly)."""

from __future__ import annotations

import pytest

from suite.results.equivalents import (
    CAR_G_CO2_PER_KM,
    EQUIVALENTS,
    EQUIVALENTS_SOURCE,
    KM_PER_MILE,
    SMARTPHONE_G_CO2_PER_CHARGE,
)


def test_one_tonne_of_co2_is_2500_miles_of_driving_and_121655_phone_charges():
    # 1 t = 1e6 g; at 400 g per mile that is 2,500 miles = 2,500 x 1.609344 km = 4,023.36 km
    assert KM_PER_MILE == 1609.344 / 1000
    assert 1e6 / CAR_G_CO2_PER_KM == pytest.approx(4023.36, rel=1e-12)
    # EPA: 8.22e-6 t per charge, so 1 t is 1 / 8.22e-6 = 121,654.5 charges
    assert SMARTPHONE_G_CO2_PER_CHARGE == pytest.approx(8.22e-6 * 1e6)
    assert 1e6 / SMARTPHONE_G_CO2_PER_CHARGE == pytest.approx(121654.5, abs=0.1)


def test_every_equivalent_has_its_factor_and_cites_its_source():
    assert EQUIVALENTS["car_km_per_million"][0] == CAR_G_CO2_PER_KM
    assert EQUIVALENTS["smartphone_charges_per_million"][0] == SMARTPHONE_G_CO2_PER_CHARGE
    for key, (factor, words) in EQUIVALENTS.items():
        assert factor > 0 and "EPA" in words, key
    assert "EPA-420-F-23-014" in EQUIVALENTS_SOURCE and "8.22" in EQUIVALENTS_SOURCE


def test_the_equivalents_key_the_carbon_records_the_report_reads():
    """The report names the stored `CarbonResult.equivalents` by these keys: a carbon figure
    computed by the energy package carries exactly them, each grams / factor."""
    from suite.energy.carbon import carbon_for
    from suite.energy.options import EnergyConfig
    from suite.results.schema import EnergyResult

    energy = EnergyResult(meter="rapl", method="counter", window_s=2.0, inferences=10, items=10, gross_j=36.0,
                          mean_power_w=18.0, gross_j_per_inference=3.6, gross_j_per_item=3.6)
    carbon = carbon_for(energy, EnergyConfig(intensity_g_per_kwh=500.0))
    # 3.6 J = 1e-6 kWh; at 500 g/kWh that is 5e-4 g per inference, 500 g per million
    assert carbon.g_per_million == pytest.approx(500.0)
    assert set(carbon.equivalents) == set(EQUIVALENTS)
    assert carbon.equivalents["car_km_per_million"] == pytest.approx(500.0 / (400.0 / 1.609344))
