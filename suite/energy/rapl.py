"""RAPL energy counters (Intel, and AMD on recent kernels) through the Linux powercap interface.

Layout (/sys/class/powercap, one flat entry per zone):
  intel-rapl:<pkg>/          name = package-<n> (or psys on laptops), energy_uj, max_energy_range_uj
  intel-rapl:<pkg>:<sub>/    name = core | uncore | dram
  intel-rapl-mmio:<pkg>/     the same package counter again through MMIO (newer Intel clients)

Counted: every package zone plus DRAM zones (DRAM is outside the package). core and uncore are
inside the package, psys overlaps everything: neither is added. A package seen twice (MSR and
MMIO interfaces) is counted once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from suite.energy.meter import Clock, CounterMeter, MeterUnavailable, clock_arg
from suite.energy.options import EnergyConfig
from suite.machine.host import resolve_root

POWERCAP_DIR = "sys/class/powercap"
_ZONE_RE = re.compile(r"^(intel-rapl(?:-mmio)?):(\d+)(?::(\d+))?$")

# The counters update about every millisecond (Intel SDM: ~1 ms RAPL energy status updates).
RAPL_PERIOD_S = 0.001

UNREADABLE_FIX = (
    "RAPL counters are root-only on kernels patched for CVE-2020-8694. Run "
    "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj` (lasts until reboot; a udev rule "
    "makes it permanent) or run bench as root. In a container, mount the host's counters with "
    "`-v /sys/class:/host/sys/class:ro -v /sys/devices/virtual:/host/sys/devices/virtual:ro -e BENCH_SYSFS_ROOT=/host` (what compose.yaml and `bench docker run` do; see docs/devices.md) and make them readable on the host first."
)
MISSING_FIX = (
    "RAPL exists on bare-metal Intel and AMD x86 Linux only (most VMs hide it). On such a machine "
    "load the driver (`sudo modprobe intel_rapl_msr`); in a container mount "
    "`-v /sys/class:/host/sys/class:ro -v /sys/devices/virtual:/host/sys/devices/virtual:ro -e BENCH_SYSFS_ROOT=/host` (what compose.yaml and `bench docker run` do; see docs/devices.md). Otherwise use another meter or the estimate meter (meter = 'estimate')."
)


@dataclass(frozen=True)
class RaplDomain:
    label: str  # package-0, dram-0, ...
    path: Path  # the zone directory
    max_range_uj: int | None


def find_domains(root: Path) -> tuple[list[RaplDomain], list[str]]:
    """The domains to count, and the zones skipped (with why) for the assumptions."""
    base = root / POWERCAP_DIR
    if not base.is_dir():
        return [], []
    zones: dict[tuple[str, int, int | None], Path] = {}
    for entry in base.iterdir():
        m = _ZONE_RE.match(entry.name)
        if m and (entry / "name").is_file():
            zones[(m.group(1), int(m.group(2)), None if m.group(3) is None else int(m.group(3)))] = entry
    # MSR interface first, so an MMIO duplicate of the same package is the one dropped.
    ordered = sorted(zones.items(), key=lambda kv: (kv[0][0] != "intel-rapl", kv[0][1], kv[0][2] is not None,
                                                   kv[0][2] or 0))
    domains: list[RaplDomain] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for (iface, pkg, sub), path in ordered:
        name = _read_text(path / "name")
        if sub is None:
            if name == "psys":
                skipped.append("psys (platform domain overlaps package and DRAM)")
                continue
            if not name.startswith("package"):
                skipped.append(f"{name} ({path.name})")
                continue
            label = name
        else:
            if name != "dram":
                continue  # core / uncore are part of the package already counted
            parent = zones.get((iface, pkg, None))
            parent_name = _read_text(parent / "name") if parent is not None else f"package-{pkg}"
            label = "dram" + parent_name.removeprefix("package")
        if label in seen:
            skipped.append(f"{label} via {path.name} (duplicate of the same counter)")
            continue
        seen.add(label)
        max_range = path / "max_energy_range_uj"
        domains.append(RaplDomain(label=label, path=path,
                                  max_range_uj=int(_read_text(max_range)) if max_range.is_file() else None))
    return domains, skipped


def _read_text(path: Path) -> str:
    return path.read_text().strip()


def read_energy_j(domains: list[RaplDomain]) -> dict[str, float]:
    return {d.label: int(_read_text(d.path / "energy_uj")) / 1e6 for d in domains}


def probe(opts: EnergyConfig, *, clock: Clock | None = None) -> CounterMeter:
    root = resolve_root(opts.sysfs_root)
    domains, skipped = find_domains(root)
    if not domains:
        raise MeterUnavailable("rapl", f"no RAPL package zones under {root / POWERCAP_DIR}.", MISSING_FIX)
    try:
        read_energy_j(domains)
    except PermissionError as exc:
        raise MeterUnavailable("rapl", f"{exc.filename} is not readable by this user.", UNREADABLE_FIX) from exc
    except (OSError, ValueError) as exc:
        raise MeterUnavailable("rapl", f"cannot read the RAPL counters: {exc}.", MISSING_FIX) from exc
    labels = [d.label for d in domains]
    assumptions = [
        (f"energy from RAPL counters: {', '.join(labels)} (CPU packages and DRAM only; GPU, disks, "
         "fans and power-supply losses are not included)"),
        "counters are read at the window edges; one wrap-around per window is undone",
    ]
    if skipped:
        assumptions.append("not counted: " + "; ".join(skipped))
    return CounterMeter(
        "rapl",
        lambda: read_energy_j(domains),
        wrap_j={d.label: (d.max_range_uj / 1e6 if d.max_range_uj else None) for d in domains},
        period_s=RAPL_PERIOD_S,
        assumptions=tuple(assumptions),
        detail=f"RAPL counters: {', '.join(labels)}",
        **clock_arg(clock),
    )
