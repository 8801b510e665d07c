"""What a stored carbon figure is worth in everyday units: the keys of `CarbonResult.equivalents`
and their sources. Part of the results contract, so that the report names them without the energy
package (which computes them, suite/energy/carbon.py)."""

from __future__ import annotations

KM_PER_MILE = 1.609344

# EPA, "Tailpipe Greenhouse Gas Emissions from a Typical Passenger Vehicle", EPA-420-F-23-014
# (June 2023): a typical passenger vehicle emits about 400 g of CO2 per mile (4.6 t a year over
# ~11,500 miles). Tailpipe CO2 only.
CAR_G_CO2_PER_MILE = 400.0
CAR_G_CO2_PER_KM = CAR_G_CO2_PER_MILE / KM_PER_MILE
# EPA Greenhouse Gas Equivalencies Calculator, "Calculations and References", smartphones charged:
# 8.22 x 10^-6 metric tons CO2 per smartphone charged (US grid; value of the 2021-2023 editions,
# which EPA revises yearly).
SMARTPHONE_G_CO2_PER_CHARGE = 8.22

EQUIVALENTS: dict[str, tuple[float, str]] = {
    "car_km_per_million": (CAR_G_CO2_PER_KM,
                           "km driven by an average US passenger car (EPA-420-F-23-014: ~400 g CO2/mile)"),
    "smartphone_charges_per_million": (SMARTPHONE_G_CO2_PER_CHARGE,
                                       "smartphone charges (EPA GHG Equivalencies Calculator: 8.22 g CO2/charge)"),
}
EQUIVALENTS_SOURCE = ("equivalents per million inferences: EPA-420-F-23-014 (car, 400 g CO2/mile); "
                      "EPA GHG Equivalencies Calculator (smartphone charge, 8.22 g CO2)")
