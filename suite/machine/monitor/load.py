"""Who else used the machine during a case: swap traffic and other processes' CPU time.

Swap: /proc/vmstat `pswpin` / `pswpout` count pages swapped in and out since boot.
CPU: /proc/stat's first line gives the whole machine's time in clock ticks (user nice system
idle iowait irq softirq steal ...); /proc/<pid>/stat fields 14-17 (utime stime cutime cstime)
give a process's own ticks plus those of its children it has reaped. The suite's own use is
this process and every descendant (the forkserver reaps the case workers, so their time
lands in its cutime/cstime); the rest of the user and system time is other processes'."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CpuTicks:
    busy: int  # user + nice + system: time spent running processes
    total: int  # every column: the machine's capacity over the same time
    steal: int  # time a hypervisor gave this VM's CPUs to someone else
    cpus: int = 0  # number of per-CPU lines (cpu0, cpu1, ...)


def read_cpu_ticks(root: Path) -> CpuTicks | None:
    try:
        lines = (root / "proc/stat").read_text().splitlines()
        first = lines[0].split()
    except (OSError, IndexError):
        return None
    cpus = sum(1 for line in lines[1:] if line.startswith("cpu") and line[3:4].isdigit())
    if not first or first[0] != "cpu":
        return None
    try:
        values = [int(v) for v in first[1:]]
    except ValueError:
        return None
    values += [0] * (8 - len(values))
    user, nice, system = values[0], values[1], values[2]
    # guest time (columns 9-10) is already inside user/nice: do not add it to the total twice.
    return CpuTicks(busy=user + nice + system, total=sum(values[:8]), steal=values[7], cpus=cpus)


def read_process_ticks(root: Path, pid: int) -> int | None:
    """utime + stime + cutime + cstime of one process, None when it is gone."""
    try:
        text = (root / f"proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm (field 2) is in parentheses and may hold spaces: split after the last ')'.
    rest = text[text.rfind(")") + 2:].split()
    try:
        return sum(int(rest[i]) for i in (11, 12, 13, 14))  # fields 14-17, counted from field 3
    except (IndexError, ValueError):
        return None


def own_pids() -> list[int]:
    """This process and all its descendants (forkserver, case workers, helper commands)."""
    import psutil

    me = psutil.Process()
    try:
        children = [c.pid for c in me.children(recursive=True)]
    except psutil.Error:
        children = []
    return [me.pid, *children]


def read_own_ticks(root: Path, pids: list[int]) -> dict[int, int]:
    out = {}
    for pid in pids:
        ticks = read_process_ticks(root, pid)
        if ticks is not None:
            out[pid] = ticks
    return out


def own_ticks_delta(start: dict[int, int], end: dict[int, int]) -> int:
    """CPU ticks the suite's processes used between two readings. A process seen only at the
    end started during the window and counts whole. One gone by the end was reaped by its
    parent (also ours), whose cutime/cstime now hold its whole life: take off the part it had
    used before the window."""
    delta = sum(ticks - start.get(pid, 0) for pid, ticks in end.items())
    delta -= sum(ticks for pid, ticks in start.items() if pid not in end)
    return max(delta, 0)


def other_cpu_percent(start: CpuTicks, end: CpuTicks, own_ticks: int) -> float | None:
    """Other processes' CPU time as a percentage of the machine's capacity over the window."""
    total = end.total - start.total
    if total <= 0:
        return None
    other = (end.busy - start.busy) - own_ticks
    return max(0.0, min(100.0, 100.0 * other / total))


def steal_percent(start: CpuTicks, end: CpuTicks) -> float | None:
    total = end.total - start.total
    return None if total <= 0 else 100.0 * (end.steal - start.steal) / total


def read_swap_pages(root: Path) -> tuple[int, int] | None:
    """(pages swapped in, pages swapped out) since boot."""
    try:
        text = (root / "proc/vmstat").read_text()
    except OSError:
        return None
    values: dict[str, int] = {}
    for line in text.splitlines():
        key, _, val = line.partition(" ")
        if key in ("pswpin", "pswpout"):
            try:
                values[key] = int(val)
            except ValueError:
                return None
    if len(values) != 2:
        return None
    return values["pswpin"], values["pswpout"]


def page_size_bytes() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 4096
