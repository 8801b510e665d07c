"""Sample the machine around one case and turn what was seen into `Conditions` and flags.

The parent process samples (start, every `interval_s` while the worker runs, end), so the
measuring worker is never disturbed: reading a few sysfs files costs microseconds, and the
one command (vcgencmd, on a Raspberry Pi only) a few milliseconds per sample.
"""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType

from pydantic import BaseModel, ConfigDict, Field

from suite.machine.host import find_vcgencmd, is_raspberry_pi, resolve_root
from suite.machine.monitor import load, power_mode, throttled
from suite.machine.monitor.cpufreq import CpuFreq, read_cpufreq
from suite.machine.monitor.thermal import cpu_temp_c
from suite.results.flags import flag
from suite.results.schema import Conditions, Flag


class MonitorConfig(BaseModel):
    """Watching the machine while cases run (suite/monitor): temperature, clocks, throttling.
    The config section, and the options suite.machine.monitor takes as they are."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # no inf/NaN: a NaN passes every `> 0` check

    enabled: bool = True
    interval_s: float = Field(default=2.0, gt=0, le=60, description="sampling period while a case runs")
    # Raspberry Pi firmware starts throttling at 80 C; x86 and Jetson CPUs throttle near 100 C
    # (a laptop at 85 C under load is normal).
    hot_temp_c: float | None = Field(default=None, gt=0, lt=150, description="flag cases whose CPU got this hot "
                                     "(default: 80 on a Raspberry Pi, 95 elsewhere)")
    sysfs_root: str | None = None  # None: $BENCH_SYSFS_ROOT or /
    vcgencmd: str | None = None  # None: $BENCH_VCGENCMD or vcgencmd on PATH (absent: not a Pi)

SWAP_FLAG_BYTES = 1 << 20  # a little swap traffic from other processes is noise; 1 MiB is not
OTHER_CPU_FLAG_PERCENT = 10.0  # of the whole machine's CPU time
STEAL_FLAG_PERCENT = 5.0
HOT_TEMP_C_PI = 80.0
HOT_TEMP_C_OTHER = 95.0
LOW_CLOCK_FRACTION = 0.7  # fastest core's median clock below this share of its ceiling
MIN_TICKS_FOR_CPU_FLAGS = 100  # ~1 s of one core: shorter windows are mostly rounding


@dataclass(frozen=True)
class Sample:
    cpu_temp_c: float | None = None
    freqs: dict[int, CpuFreq] = field(default_factory=dict)
    throttled: int | None = None  # raw get_throttled value
    jetson_mode: str | None = None
    gpu: power_mode.GpuClock | None = None


@dataclass(frozen=True)
class Counters:
    """Cumulative counters read at the start and end only: their difference is the window's."""

    cpu: load.CpuTicks | None = None
    own: dict[int, int] = field(default_factory=dict)
    swap: tuple[int, int] | None = None


class Monitor:
    """Knows which sensors this machine has (probed once) and samples them."""

    def __init__(self, opts: MonitorConfig | None = None, *,
                 own_pids: Callable[[], list[int]] = load.own_pids):
        opts = opts or MonitorConfig()
        self.root = resolve_root(opts.sysfs_root)
        self._own_pids = own_pids
        self.has_temperature = cpu_temp_c(self.root) is not None
        self.has_cpufreq = bool(read_cpufreq(self.root))
        self._vcgencmd = find_vcgencmd(opts.vcgencmd)
        self.throttled_at_start: int | None = None
        if self._vcgencmd is not None:
            try:
                self.throttled_at_start = throttled.read_throttled(self._vcgencmd)
            except throttled.ThrottledUnavailable:
                self._vcgencmd = None  # not a Pi (or no permission): do not spawn it every sample
        self.is_jetson = power_mode.is_jetson(self.root)
        self._gpu_dir = power_mode.find_gpu(self.root) if self.is_jetson else None
        self._mode_names = power_mode.mode_names(self.root) if self.is_jetson else {}
        if opts.hot_temp_c is None:
            pi = self._vcgencmd is not None or is_raspberry_pi(self.root)
            opts = opts.model_copy(update={"hot_temp_c": HOT_TEMP_C_PI if pi else HOT_TEMP_C_OTHER})
        self.opts = opts

    # ------------------------------------------------------------------ readings

    def temperature_c(self) -> float | None:
        return cpu_temp_c(self.root) if self.has_temperature else None

    def sample(self) -> Sample:
        value = None
        if self._vcgencmd is not None:
            try:
                value = throttled.read_throttled(self._vcgencmd)
            except throttled.ThrottledUnavailable:
                value = None
        return Sample(
            cpu_temp_c=self.temperature_c(),
            freqs=read_cpufreq(self.root) if self.has_cpufreq else {},
            throttled=value,
            jetson_mode=power_mode.power_mode(self.root, self._mode_names) if self.is_jetson else None,
            gpu=power_mode.gpu_clock(self._gpu_dir) if self._gpu_dir is not None else None,
        )

    def counters(self) -> Counters:
        try:
            pids = self._own_pids()
        except Exception:  # psutil missing or /proc unreadable: no other-CPU figure
            pids = []
        return Counters(cpu=load.read_cpu_ticks(self.root), own=load.read_own_ticks(self.root, pids),
                        swap=load.read_swap_pages(self.root))

    def startup_warnings(self) -> list[str]:
        """Things worth saying once, before any case runs."""
        out = []
        v = self.throttled_at_start
        if v is not None:
            since = throttled.since_boot_conditions(v)
            if "under-voltage" in since:
                out.append(f"vcgencmd get_throttled={throttled.fmt(v)}: under-voltage has occurred since boot; "
                           "the power supply is too weak for full-speed runs (use the official supply)")
            elif since:
                out.append(f"vcgencmd get_throttled={throttled.fmt(v)}: {', '.join(since)} occurred since boot "
                           "(before this run); each case records what happens while it runs")
        return out

    def watch(self, device: str = "cpu") -> CaseWatch:
        return CaseWatch(self, device)


class CaseWatch:
    """`with monitor.watch(): run the case` -> `.conditions` once the block has finished."""

    def __init__(self, monitor: Monitor, device: str = "cpu"):
        self.monitor = monitor
        self.device = device
        self.start: Sample | None = None
        self.during: list[Sample] = []
        self.end: Sample | None = None
        self.conditions: Conditions | None = None
        self.flags: list[Flag] = []
        self._c0 = Counters()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> CaseWatch:
        self._c0 = self.monitor.counters()
        self.start = self.monitor.sample()
        self._thread = threading.Thread(target=self._loop, name="bench-monitor", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.monitor.opts.interval_s):
            try:
                self.during.append(self.monitor.sample())
            except Exception:  # a sensor that vanished mid-run must not end the run
                continue

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if exc_type is not None:
            return
        self.end = self.monitor.sample()
        c1 = self.monitor.counters()
        assert self.start is not None
        self.conditions, self.flags = summarize(self.start, list(self.during), self.end, self._c0, c1,
                                                self.monitor.opts, device=self.device)


# --------------------------------------------------------------------------- summary


def summarize(start: Sample, during: list[Sample], end: Sample, c0: Counters, c1: Counters,
              opts: MonitorConfig, *, device: str = "cpu",
              page_bytes: int | None = None) -> tuple[Conditions, list[Flag]]:
    """What the samples say about one case, and the flags it raises (suite/results/flags.py).
    Pure: tests feed it samples read from fake trees.

    `throttled` holds the get_throttled bits that concern this case: the "now" bits (0-3)
    seen in any sample, plus the "since boot" bits (16-19) that were set during it. Bits that
    were already set before the case began belong to earlier work and are left out."""
    samples = [start, *during, end]
    flags: list[Flag] = []
    cond: dict = {}

    temps = [s.cpu_temp_c for s in samples if s.cpu_temp_c is not None]
    if temps:
        cond["cpu_temp_c_start"] = start.cpu_temp_c
        cond["cpu_temp_c_max"] = max(temps)
        hot = opts.hot_temp_c if opts.hot_temp_c is not None else HOT_TEMP_C_OTHER
        if max(temps) >= hot:
            flags.append(flag("throttling", f"CPU hot: reached {max(temps):.1f} °C (at or above {hot:g} °C, "
                              "where many boards lower their clocks)"))

    flags += _freq_flags(start, during, samples, cond)
    flags += _throttled_flags(start, end, samples, cond)
    flags += _jetson_flags(start, end, samples, cond, device)
    flags += _load_flags(c0, c1, cond, page_bytes or load.page_size_bytes())
    return Conditions(**cond), flags


def _freq_flags(start: Sample, during: list[Sample], samples: list[Sample], cond: dict) -> list[Flag]:
    flags = []
    # The start and end samples catch the machine idle (between workers); the ones taken while
    # the worker ran say what clock the work got. The fastest core is the one doing the work.
    loaded = [s for s in during if s.freqs] or [s for s in samples if s.freqs]
    fastest = [m for m in (fastest_mhz(s.freqs) for s in loaded) if m is not None]
    if fastest:
        cond["cpu_freq_mhz_min"] = min(fastest)
        cond["cpu_freq_mhz_max"] = max(fastest)
    drops: dict[tuple[float, float], list[int]] = {}
    capped: dict[tuple[float, float], list[int]] = {}
    for cpu, f0 in start.freqs.items():
        caps = [c for c in (s.freqs[cpu].cap_mhz for s in samples if cpu in s.freqs) if c is not None]
        if f0.cap_mhz is None or not caps:
            continue
        if min(caps) < f0.cap_mhz:
            drops.setdefault((f0.cap_mhz, min(caps)), []).append(cpu)
        elif f0.hw_max_mhz is not None and f0.cap_mhz < f0.hw_max_mhz:
            capped.setdefault((f0.cap_mhz, f0.hw_max_mhz), []).append(cpu)
    for (before, after), cpus in drops.items():
        flags.append(flag("throttling", f"thermal throttling: {cpu_list(cpus)} max freq dropped from {before:.0f} to "
                                        f"{after:.0f} MHz"))
    for (cap, hw), cpus in capped.items():
        flags.append(flag("throttling", f"CPU frequency capped: {cpu_list(cpus)} limited to {cap:.0f} of {hw:.0f} MHz "
                                        "(scaling_max_freq)"))
    during_fastest = [m for m in (fastest_mhz(s.freqs) for s in during if s.freqs) if m is not None]
    ceiling = _ceiling_mhz(start.freqs)
    if during_fastest and ceiling:
        median = statistics.median(during_fastest)
        if median < LOW_CLOCK_FRACTION * ceiling:
            flags.append(flag("throttling", f"CPU clock low: the fastest core ran at a median {median:.0f} MHz of its "
                                            f"{ceiling:.0f} MHz ceiling during the case (power-saving governor or "
                                            "firmware throttling)"))
    return flags


def fastest_mhz(freqs: dict[int, CpuFreq]) -> float | None:
    cur = [f.cur_mhz for f in freqs.values() if f.cur_mhz is not None]
    return max(cur) if cur else None


def _ceiling_mhz(freqs: dict[int, CpuFreq]) -> float | None:
    caps = [min(x for x in (f.cap_mhz, f.hw_max_mhz) if x is not None)
            for f in freqs.values() if f.cap_mhz is not None or f.hw_max_mhz is not None]
    return max(caps) if caps else None


def cpu_list(cpus: list[int]) -> str:
    """[0, 1, 2, 3, 6] -> "cpu0-3,6"."""
    runs: list[list[int]] = []
    for c in sorted(cpus):
        if runs and c == runs[-1][-1] + 1:
            runs[-1].append(c)
        else:
            runs.append([c])
    return "cpu" + ",".join(f"{r[0]}-{r[-1]}" if len(r) > 1 else f"{r[0]}" for r in runs)


def _throttled_flags(start: Sample, end: Sample, samples: list[Sample], cond: dict) -> list[Flag]:
    values = [s.throttled for s in samples if s.throttled is not None]
    if not values:
        return []
    now = 0
    first_seen: dict[int, int] = {}
    for v in values:
        for bit in throttled.FLAGS:
            if v & (1 << bit) and bit not in first_seen:
                first_seen[bit] = v
        now |= v & throttled.NOW_MASK
    new_since = 0
    if start.throttled is not None and end.throttled is not None:
        new_since = end.throttled & throttled.SINCE_BOOT_MASK & ~start.throttled
    for bit in throttled.FLAGS:
        if new_since & (1 << (bit + throttled.SINCE_BOOT_SHIFT)) and bit not in first_seen:
            first_seen[bit] = end.throttled  # type: ignore[assignment]
    cond["throttled"] = throttled.fmt(now | new_since)
    return [flag("throttling", f"{throttled.FLAGS[bit]} (vcgencmd get_throttled={throttled.fmt(raw)})")
            for bit, raw in sorted(first_seen.items())]


def _jetson_flags(start: Sample, end: Sample, samples: list[Sample], cond: dict, device: str) -> list[Flag]:
    flags = []
    if start.jetson_mode is not None:
        cond["jetson_power_mode"] = start.jetson_mode
        modes = list(dict.fromkeys(s.jetson_mode for s in samples if s.jetson_mode is not None))
        if len(modes) > 1:
            flags.append(flag("power_mode_change", f"Jetson power mode changed during the case: {' -> '.join(modes)}"))
    gpus = [s.gpu for s in samples if s.gpu is not None]
    if device.startswith("cuda") and gpus and start.gpu is not None:
        g0 = start.gpu
        caps = [g.cap_mhz for g in gpus if g.cap_mhz is not None]
        if g0.cap_mhz is not None and caps and min(caps) < g0.cap_mhz:
            flags.append(flag("throttling", f"thermal throttling: GPU max clock dropped from {g0.cap_mhz:.0f} to "
                                            f"{min(caps):.0f} MHz"))
        elif g0.cap_mhz is not None and g0.hw_max_mhz is not None and g0.cap_mhz < g0.hw_max_mhz:
            flags.append(flag("throttling", f"GPU clock capped: limited to {g0.cap_mhz:.0f} of {g0.hw_max_mhz:.0f} MHz "
                                            "(devfreq max_freq)"))
    return flags


def _load_flags(c0: Counters, c1: Counters, cond: dict, page_bytes: int) -> list[Flag]:
    flags = []
    if c0.swap is not None and c1.swap is not None:
        swap_in = max(0, c1.swap[0] - c0.swap[0]) * page_bytes
        swap_out = max(0, c1.swap[1] - c0.swap[1]) * page_bytes
        cond["swap_in_bytes"], cond["swap_out_bytes"] = swap_in, swap_out
        if swap_in + swap_out >= SWAP_FLAG_BYTES:
            flags.append(flag("swap", f"swap activity: {swap_in / 2**20:.0f} MiB swapped in, {swap_out / 2**20:.0f} "
                                      "MiB out (memory ran short; timings include paging)"))
    if c0.cpu is not None and c1.cpu is not None:
        own = load.own_ticks_delta(c0.own, c1.own)
        other = load.other_cpu_percent(c0.cpu, c1.cpu, own)
        window = c1.cpu.total - c0.cpu.total
        if other is not None:
            cond["other_cpu_percent"] = round(other, 1)
            if other >= OTHER_CPU_FLAG_PERCENT and window >= MIN_TICKS_FOR_CPU_FLAGS:
                cores = other / 100 * c1.cpu.cpus if c1.cpu.cpus else None
                of = f" ({cores:.1f} of {c1.cpu.cpus} cores)" if cores is not None else ""
                flags.append(flag("contention", f"other processes used {other:.0f}% of the CPU{of} during the case"))
        steal = load.steal_percent(c0.cpu, c1.cpu)
        if steal is not None and steal >= STEAL_FLAG_PERCENT and window >= MIN_TICKS_FOR_CPU_FLAGS:
            flags.append(flag("contention", f"hypervisor steal: {steal:.0f}% of CPU time went to other virtual machines"))
    return flags
