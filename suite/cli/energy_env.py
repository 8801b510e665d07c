"""Rows for `bench env`: every energy meter, whether it works here, and why not.
Pure data (no printing): the env command renders them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from suite.energy.options import EnergyConfig

METER_TABLE_COLUMNS = ("meter", "usable", "method", "detail")


def meter_table(opts: EnergyConfig | None = None) -> list[dict[str, str]]:
    """One row per meter in auto-selection order; the meter `auto` would pick is marked
    "yes (auto)", a meter named in the options "yes (selected)". `opts` is a
    suite.energy.options.EnergyConfig (default options when None)."""
    from suite.energy import canonical_meter_name, describe_meters
    from suite.energy.options import EnergyConfig

    opts = opts if opts is not None else EnergyConfig.model_validate({})
    chosen = canonical_meter_name(opts.meter)
    statuses = describe_meters(opts)
    rows = []
    picked = False
    for s in statuses:
        usable = "no"
        if s.usable:
            usable = "yes"
            if chosen == s.name:
                usable = "yes (selected)"
            elif chosen == "auto" and not picked:
                usable = "yes (auto)"
                picked = True
        rows.append({"meter": s.name, "usable": usable, "method": s.method, "detail": s.reason})
    return rows
