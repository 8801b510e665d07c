"""Carbon per inference from the grid's carbon intensity, offline.

The intensity comes from the data codecarbon ships (no network): per-country figures from its
global energy mix, US states (EPA eGRID), Chinese provinces (CO2 only, as published) and Nordic
bidding zones; or from a number the user gives. Everyday equivalents make grams readable, with
their factors cited."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from suite.energy.options import EnergyConfig
from suite.errors import BenchError, closest
from suite.results.equivalents import (
    EQUIVALENTS,
    EQUIVALENTS_SOURCE,
)
from suite.results.schema import CarbonResult, EnergyResult

J_PER_KWH = 3.6e6
G_PER_LB = 453.59237
_NORDIC_COUNTRY = {"SE": "SWE", "NO": "NOR", "FI": "FIN"}


@dataclass(frozen=True)
class GridIntensity:
    g_per_kwh: float
    region: str  # canonical: ISO3 code, or ISO3/subregion
    source: str


@functools.lru_cache(maxsize=1)
def _data() -> dict[str, Any]:  # Any: codecarbon's bundled data files as loaded (nested JSON)
    try:
        import codecarbon
        from codecarbon.input import DataSource
    except ImportError as exc:
        raise BenchError("Grid carbon intensities come from codecarbon's bundled data, but codecarbon is "
                         "not installed. Install it (pip install codecarbon) or give an intensity in "
                         "g CO2eq/kWh.") from exc
    ds = DataSource()
    out: dict[str, Any] = {"version": codecarbon.__version__, "global": ds.get_global_energy_mix_data()}
    for key, loader in (("usa", lambda: ds.get_country_emissions_data("usa")),
                        ("china", ds.get_china_provincial_emissions_data),
                        ("nordic", ds.get_nordic_country_energy_mix_data)):
        try:
            out[key] = loader()
        except Exception:  # noqa: BLE001 - older codecarbon releases lack some regional files
            out[key] = None
    return out


def _regional() -> dict[str, tuple[float, str, str]]:
    """Canonical subregion name -> (g/kWh, source, unit as the data states it)."""
    data = _data()
    ver = data["version"]
    out: dict[str, tuple[float, str, str]] = {}
    usa = data.get("usa")
    if usa:
        src = usa.get("_source", {})
        what = f"{src.get('name', 'EPA eGRID')}" if isinstance(src, dict) else "EPA eGRID"
        for state, row in usa.items():
            if state.startswith("_") or not isinstance(row, dict) or "emissions" not in row:
                continue
            # eGRID gives lb CO2eq per MWh: x 453.59237 g/lb / 1000 kWh/MWh.
            out[f"USA/{state}"] = (row["emissions"] * G_PER_LB / 1000.0,
                                   f"codecarbon {ver} bundled {what} for {state} (lb/MWh converted)",
                                   "g CO2eq/kWh")
    china = data.get("china")
    if china:
        # codecarbon's metadata: "CO2 only (not CO2eq, no lifecycle emissions)" (MEE/NBS factors).
        for code, row in china.get("data", {}).items():
            name = (row.get("names") or [row.get("description", code)])[0]
            out[f"CHN/{name}"] = (row["emission_factor"],
                                  (f"codecarbon {ver} bundled provincial factor for {row.get('description', name)} "
                                   f"({row.get('year', '?')}; CO2 only, not CO2eq: other greenhouse gases "
                                   "and lifecycle emissions are not included)"),
                                  "g CO2/kWh")
    nordic = data.get("nordic")
    if nordic:
        for zone, row in nordic.get("data", {}).items():
            iso3 = _NORDIC_COUNTRY.get(zone[:2], zone)
            out[f"{iso3}/{zone}"] = (row["emission_factor"],
                                     (f"codecarbon {ver} bundled bidding-zone factor for {row.get('description', zone)} "
                                      f"({row.get('year', '?')})"),
                                     "g CO2eq/kWh")
    return out


def known_regions() -> list[str]:
    """Every region name carbon_for accepts (ISO3 codes, country names, subregions)."""
    glob = _data()["global"]
    names = list(glob) + [row.get("country_name", "") for row in glob.values()]
    return [n for n in names if n] + list(_regional())


def grid_intensity(opts: EnergyConfig) -> GridIntensity:
    if opts.intensity_g_per_kwh is not None:
        return GridIntensity(float(opts.intensity_g_per_kwh), "custom",
                             f"given by the user: {opts.intensity_g_per_kwh:g} g CO2eq/kWh")
    return lookup_region(opts.region)


def lookup_region(region: str) -> GridIntensity:
    text = " ".join(str(region).split())
    if not text:
        raise BenchError("No grid region given: use an ISO 3166 alpha-3 code such as USA, FRA or DEU, "
                         "or give an intensity in g CO2eq/kWh.")
    data = _data()
    glob = data["global"]
    ver = data["version"]
    key = text.replace(":", "/")

    def country(iso3: str) -> GridIntensity:
        row = glob[iso3]
        return GridIntensity(float(row["carbon_intensity"]), iso3,
                             f"codecarbon {ver} bundled global energy mix: {row.get('country_name', iso3)} "
                             f"({row.get('year', '?')}), {row['carbon_intensity']:g} g CO2eq/kWh")

    if key.upper() in glob:
        return country(key.upper())
    by_name = {row.get("country_name", "").lower(): iso3 for iso3, row in glob.items()}
    if key.lower() in by_name:
        return country(by_name[key.lower()])

    regional = _regional()
    lowered = {k.lower(): k for k in regional}
    candidates = [key.lower()]
    if "/" in key:
        head, tail = key.split("/", 1)
        iso = by_name.get(head.lower(), head.upper())
        candidates.append(f"{iso}/{tail}".lower())
    else:  # a bare Nordic zone (SE3) or subregion name (california)
        candidates += [k for k in lowered if k.split("/", 1)[1] == key.lower()]
    for cand in candidates:
        if cand in lowered:
            name = lowered[cand]
            g, src, unit = regional[name]
            return GridIntensity(float(g), name, f"{src}, {g:.1f} {unit}")

    hint = closest(text, known_regions())
    did_you_mean = f" Did you mean: {', '.join(hint)}?" if hint else ""
    raise BenchError(
        f"Unknown grid region '{region}'.{did_you_mean} Use an ISO 3166 alpha-3 country code (USA, FRA, DEU), "
        "a country name, USA/<state>, CHN/<province>, a Nordic bidding zone (SE1-SE4, NO1-NO5, FI), "
        "or give the intensity in g CO2eq/kWh."
    )


def carbon_for(energy: EnergyResult, opts: EnergyConfig) -> CarbonResult:
    """Grams of CO2eq per inference (from the gross energy: all the device drew while serving it),
    per million inferences, and everyday equivalents of a million inferences."""
    grid = grid_intensity(opts)
    g_per_inference = energy.gross_j_per_inference / J_PER_KWH * grid.g_per_kwh
    g_per_million = g_per_inference * 1e6
    equivalents = {key: g_per_million / factor for key, (factor, _what) in EQUIVALENTS.items()}
    energy_note = "; energy ESTIMATED (no sensor)" if energy.method == "estimated" else ""
    return CarbonResult(
        intensity_g_per_kwh=grid.g_per_kwh,
        region=grid.region,
        source=f"{grid.source}; applied to gross energy per inference ({energy.meter}, {energy.method})"
               f"{energy_note}; {EQUIVALENTS_SOURCE}",
        g_per_inference=g_per_inference,
        g_per_million=g_per_million,
        equivalents=equivalents,
    )
