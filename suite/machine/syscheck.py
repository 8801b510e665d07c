"""Is this machine set up for stable timings? (`bench env --check`, after pyperf's `system show`.)

Each check reads sysfs/procfs under an injectable root (BENCH_SYSFS_ROOT, as the monitor and
the environment fingerprint do) and returns what it found, whether that hurts timings, and
the fix. It changes nothing: tuning a machine needs root and is the owner's decision.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from suite.machine.host import read_text, resolve_root

CPU = "sys/devices/system/cpu"
LOAD_WARN = 0.5  # 1-minute load above which other work competes with the timed loop
BUSY_WARN = 0.10  # another process using a tenth of a CPU


@dataclass(frozen=True)
class Check:
    name: str
    state: str  # ok | warn | info (info: cannot be checked or changed here)
    value: str
    fix: str = ""


def _cpus(root: Path) -> list[int]:
    """Online CPUs from /sys/devices/system/cpu/online ('0-3,6'), else the cpuN directories."""
    text = read_text(root / CPU / "online")
    out: list[int] = []
    if text:
        for part in text.split(","):
            a, _, b = part.partition("-")
            if a.strip().isdigit():
                out += list(range(int(a), int(b or a) + 1))
        return out
    d = root / CPU
    return sorted(int(p.name[3:]) for p in d.glob("cpu[0-9]*")) if d.is_dir() else []


def physical_cores(root: Path, cpus: list[int]) -> int | None:
    """Distinct (package, core) pairs among the online CPUs; None without topology files."""
    seen = set()
    for c in cpus:
        core = read_text(root / CPU / f"cpu{c}/topology/core_id")
        pkg = read_text(root / CPU / f"cpu{c}/topology/physical_package_id") or "0"
        if core is None:
            return None
        seen.add((pkg, core))
    return len(seen) or None


def check_governor(root: Path, cpus: list[int]) -> Check:
    govs = {c: read_text(root / CPU / f"cpu{c}/cpufreq/scaling_governor") for c in cpus}
    found = {g for g in govs.values() if g}
    if not found:
        return Check("CPU governor", "info", "no cpufreq (a VM or container): the host sets the clock")
    if found == {"performance"}:
        return Check("CPU governor", "ok", "performance")
    return Check("CPU governor", "warn", ", ".join(sorted(found)) + " (the clock follows the load: the first "
                 "calls of a loop run slower)",
                 "sudo cpupower frequency-set -g performance  (or: echo performance | sudo tee "
                 "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor)")


def check_turbo(root: Path) -> Check:
    no_turbo = read_text(root / CPU / "intel_pstate/no_turbo")
    if no_turbo is not None:
        if no_turbo == "1":
            return Check("Turbo boost", "ok", "off (intel_pstate/no_turbo = 1)")
        return Check("Turbo boost", "warn", "on (the clock depends on temperature and on the other cores)",
                     "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = read_text(root / CPU / "cpufreq/boost")
    if boost is not None:
        if boost == "0":
            return Check("Turbo boost", "ok", "off (cpufreq/boost = 0)")
        return Check("Turbo boost", "warn", "on (the clock depends on temperature and on the other cores)",
                     "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost")
    return Check("Turbo boost", "info", "no boost control here (a VM, or a CPU without boost)")


def check_smt(root: Path, cpus: list[int], cores: int | None) -> Check:
    active = read_text(root / CPU / "smt/active")
    shared = cores is not None and cores < len(cpus)
    if active == "1" or (active is None and shared):
        return Check("SMT (hyper-threading)", "warn",
                     f"on: {len(cpus)} logical CPUs on {cores or '?'} cores; sibling threads share a core's units",
                     "echo off | sudo tee /sys/devices/system/cpu/smt/control  (or keep --threads at the "
                     "physical core count, the default)")
    if active == "0":
        return Check("SMT (hyper-threading)", "ok", "off")
    return Check("SMT (hyper-threading)", "info", "not reported here (a VM may still share cores with its host)")


def _meminfo(root: Path) -> dict[str, int]:
    out = {}
    for line in (read_text(root / "proc/meminfo") or "").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            out[key] = int(parts[0]) * 1024  # kB
    return out


def check_swap(root: Path) -> Check:
    m = _meminfo(root)
    if "SwapTotal" not in m:
        return Check("Swap", "info", "/proc/meminfo unreadable")
    total, used = m["SwapTotal"], m["SwapTotal"] - m.get("SwapFree", 0)
    if total == 0:
        return Check("Swap", "ok", "none configured")
    if used > 0:
        return Check("Swap", "warn", f"{used / 2**20:.0f} MiB of {total / 2**20:.0f} MiB in use: pages the loop "
                     "touches may have to come back from disk",
                     "close what holds the memory, then: sudo swapoff -a && sudo swapon -a")
    return Check("Swap", "ok", f"{total / 2**20:.0f} MiB configured, none in use")


def check_load(root: Path) -> Check:
    text = read_text(root / "proc/loadavg")
    try:
        load1 = float((text or "").split()[0])
    except (IndexError, ValueError):
        return Check("Load", "info", "/proc/loadavg unreadable")
    if load1 > LOAD_WARN:
        return Check("Load", "warn", f"{load1:.2f} (1-minute average): other work is running",
                     "wait for it to finish, or stop it (see 'Busy processes')")
    return Check("Load", "ok", f"{load1:.2f} (1-minute average)")


def _process_ticks(root: Path) -> dict[int, tuple[str, int]]:
    out = {}
    proc = root / "proc"
    for d in proc.glob("[0-9]*") if proc.is_dir() else []:
        text = read_text(d / "stat")
        if not text or ")" not in text:
            continue
        name = text[text.find("(") + 1:text.rfind(")")]
        rest = text[text.rfind(")") + 2:].split()
        try:
            out[int(d.name)] = (name, int(rest[11]) + int(rest[12]))  # utime + stime (fields 14, 15)
        except (IndexError, ValueError):
            continue
    return out


def check_busy(root: Path, interval_s: float = 0.5, sleep: Callable[[float], None] = time.sleep,
               ticks_per_s: int | None = None) -> Check:
    """Processes that used more than BUSY_WARN of a CPU over `interval_s` (not this one)."""
    hz = ticks_per_s or os.sysconf("SC_CLK_TCK")
    before = _process_ticks(root)
    sleep(interval_s)
    after = _process_ticks(root)
    busy = []
    for pid, (name, t1) in after.items():
        if pid == os.getpid() or pid not in before:
            continue
        share = (t1 - before[pid][1]) / hz / interval_s
        if share > BUSY_WARN:
            busy.append((share, pid, name))
    if not busy:
        return Check("Busy processes", "ok", f"none above {BUSY_WARN:.0%} of a CPU over {interval_s:g} s")
    busy.sort(reverse=True)
    listed = ", ".join(f"{name} (pid {pid}, {share:.0%} of a CPU)" for share, pid, name in busy[:5])
    return Check("Busy processes", "warn", listed, "stop them, or run when they are done; `bench run` flags "
                 "cases during which others used the CPU (contention)")


def check_threads(root: Path, cpus: list[int], cores: int | None, threads: int | None) -> Check:
    n = len(cpus)
    default = threads or cores or n
    if n and default >= n:
        return Check("Threads vs CPUs", "warn",
                     f"{default} thread(s) on {n} CPU(s): the timed loop takes every CPU, so any other process "
                     "(the OS, the monitor) interrupts it. On a 2-vCPU VM a bare loop shows a CV of 15-40% with "
                     "2 threads and 4-6% with 1",
                     f"compare: bench run --threads {default} and bench run --threads {max(1, default - 1)} "
                     "(the flags and CIs say which is steadier); fewer threads is also slower")
    return Check("Threads vs CPUs", "ok", f"{default} thread(s) on {n} CPU(s): one or more left for the rest")


def system_checks(root: str | os.PathLike[str] | None = None, *, threads: int | None = None,
                  interval_s: float = 0.5, sleep: Callable[[float], None] = time.sleep,
                  ticks_per_s: int | None = None) -> list[Check]:
    r = resolve_root(root)
    cpus = _cpus(r)
    cores = physical_cores(r, cpus)
    return [check_governor(r, cpus), check_turbo(r), check_smt(r, cpus, cores), check_swap(r), check_load(r),
            check_busy(r, interval_s, sleep, ticks_per_s), check_threads(r, cpus, cores, threads)]
