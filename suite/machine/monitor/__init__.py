"""Watch the conditions that make a measurement untrustworthy, case by case: CPU temperature
(thermal zones), CPU clocks and their caps (cpufreq), Raspberry Pi throttling and
under-voltage (`vcgencmd get_throttled`), the Jetson power mode and GPU clock, swap activity
and other processes' CPU use. Also the optional cool-down between cases.

Everything is read from files under an injectable root (BENCH_SYSFS_ROOT, default /) and
one injectable command (BENCH_VCGENCMD), so tests point the real reading code at fake trees.
The parent process samples around each case (see `watch.Monitor`): the worker that measures
is never disturbed. The options are the config's own section, `suite.config.bench_config.MonitorConfig`.
Nothing here imports torch.
"""

from __future__ import annotations

from suite.machine.monitor.cooldown import CooldownResult, wait_for_cooldown
from suite.machine.monitor.watch import CaseWatch, Monitor, Sample, summarize

__all__ = ["CaseWatch", "CooldownResult", "Monitor", "Sample", "summarize", "wait_for_cooldown"]
