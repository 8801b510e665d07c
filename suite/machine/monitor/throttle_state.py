"""Is the machine throttling right now? One sample against the one taken before the work began, as a
sustained run's timeline asks it window by window (suite/metrics/sustained.py). The same readings and
the same rules as a case's conditions (suite.machine.monitor.watch): a CPU's scaling_max_freq
lowered since the start (thermal cooling devices, a power cap), the Raspberry Pi firmware's "now"
bits of get_throttled (frequency capped, throttled, soft temperature limit), a Jetson GPU's max
clock lowered."""

from __future__ import annotations

from suite.machine.monitor import throttled
from suite.machine.monitor.watch import Sample, fastest_mhz

# get_throttled's "now" bits that lower the clocks (bit 0, under-voltage, is said apart: it does too)
_CLOCK_BITS = (1, 2, 3)


def throttle_state(start: Sample, now: Sample) -> str | None:
    """Why `now` is throttled, in a few words; None when it is not."""
    why = []
    dropped = [f"cpu{cpu} max {f0.cap_mhz:.0f} -> {f1.cap_mhz:.0f} MHz" for cpu, f0 in start.freqs.items()
               if (f1 := now.freqs.get(cpu)) is not None and f0.cap_mhz is not None and f1.cap_mhz is not None
               and f1.cap_mhz < f0.cap_mhz]
    if dropped:
        why.append("; ".join(dropped[:2]) + (f" (+{len(dropped) - 2} cpus)" if len(dropped) > 2 else ""))
    if now.throttled is not None:
        bits = [throttled.BITS[b] for b in (0, *_CLOCK_BITS) if now.throttled & (1 << b)]
        if bits:
            why.append(f"get_throttled: {', '.join(bits)}")
    g0, g1 = start.gpu, now.gpu
    if g0 is not None and g1 is not None and g0.cap_mhz is not None and g1.cap_mhz is not None and g1.cap_mhz < g0.cap_mhz:
        why.append(f"GPU max {g0.cap_mhz:.0f} -> {g1.cap_mhz:.0f} MHz")
    return "; ".join(why) or None


def clock_mhz(sample: Sample) -> float | None:
    """The fastest core's current clock (the one doing the work)."""
    return fastest_mhz(sample.freqs)


def lowest_cap_mhz(sample: Sample) -> float | None:
    caps = [f.cap_mhz for f in sample.freqs.values() if f.cap_mhz is not None]
    return min(caps) if caps else None
