"""What a deployed app sees, as stored per case (issue 22): the cost of starting cold, and the
forward pass at a fixed rate with its energy per frame, a sustained run's timeline, and
the plan's estimate of the case's wall time beside the actual one.

Each record holds raw figures and says how they were obtained; derived figures (ratios, the
report's tables) are computed from them by the reader.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from suite.results.fields import Count, NonNegative, _Model


class ColdStart(_Model):
    """A fresh Python process's time to the case's first result, step by step
    (suite/run/cold_start.py), and its resident memory after each step."""

    method: str  # how the steps were timed and what each one holds
    imported: list[str] = Field(default_factory=list)  # the modules of the import step
    process_start_s: NonNegative | None = None  # interpreter start and the harness, before the import step
    import_s: NonNegative  # importing the backend's runtime (torch, onnxruntime)
    load_s: NonNegative  # model build (eager) or session load (a graph file), with its own imports
    first_call_s: NonNegative  # the first forward pass on the case's inputs
    warm_call_ms: NonNegative | None = None  # median of a few calls after the first: what the first one is against
    warm_calls: Count = 0
    rss_after_import_bytes: Count | None = None
    rss_after_load_bytes: Count | None = None
    rss_after_first_call_bytes: Count | None = None
    rss_peak_bytes: Count | None = None  # VmHWM at the end of the first call

    @property
    def to_first_result_s(self) -> float:
        """import + load + first call: what an app's start-up costs once Python runs."""
        return self.import_s + self.load_s + self.first_call_s


class PacedEnergy(_Model):
    """Energy per frame at the paced rate, idle time between calls included (suite/energy/paced_window.py)."""

    meter: str
    method: str  # counter | sampled | estimated (an estimate is labelled so)
    window_s: NonNegative
    frames: Count
    busy_s: NonNegative  # the window's calls, summed
    gross_j: NonNegative
    gross_j_per_frame: NonNegative  # what a battery pays per frame at this rate
    idle_power_w: NonNegative | None = None  # the run's idle baseline, same meter
    # The frame's energy split at the idle baseline: idle power x the frame's idle time, and the rest.
    # idle_j_per_frame + active_j_per_frame = gross_j_per_frame.
    idle_j_per_frame: NonNegative | None = None
    active_j_per_frame: float | None = None
    assumptions: list[str] = Field(default_factory=list)


class PacedResult(_Model):
    """The forward pass at a fixed rate with idle gaps (suite/metrics/paced.py)."""

    method: str
    rate_hz: float = Field(gt=0)
    period_ms: float = Field(gt=0)
    starts_ms: list[NonNegative]  # each call's start, from the first frame's arrival
    samples_ms: list[NonNegative]  # each call's duration
    missed: Count  # calls that ended after their frame's deadline (arrival + one period)
    idle_gaps: Count  # calls before which the thread slept: the previous call ended before this frame arrived
    median_ms: NonNegative
    median_ci_low_ms: NonNegative
    median_ci_high_ms: NonNegative
    p99_ms: NonNegative
    # paced median / back-to-back median (the case's timed loop), bootstrap CI (suite.stats)
    vs_back_to_back: float | None = None
    vs_back_to_back_ci: tuple[float, float] | None = None
    energy: PacedEnergy | None = None

    @property
    def achieved_period_ms(self) -> float | None:
        """Mean spacing of the calls' starts: (last start - first start) / (calls - 1)."""
        n = len(self.starts_ms)
        return (self.starts_ms[-1] - self.starts_ms[0]) / (n - 1) if n > 1 else None

    @property
    def period_error_bound_ms(self) -> float | None:
        """How far the achieved period can be from the true spacing of the frames: the spread of the
        calls' lags behind their arrivals (start - k x period) over (calls - 1)."""
        n = len(self.starts_ms)
        if n < 2:
            return None
        lags = [s - k * self.period_ms for k, s in enumerate(self.starts_ms)]
        return (max(lags) - min(lags)) / (n - 1)

    @property
    def idle_ms(self) -> list[float]:
        """The gaps between one call's end and the next call's start."""
        ends = [s + d for s, d in zip(self.starts_ms, self.samples_ms)]
        return [max(0.0, nxt - end) for end, nxt in zip(ends, self.starts_ms[1:])]


class TimelineWindow(_Model):
    """One window of a sustained run (suite/metrics/sustained.py): its calls and the machine's state at its end."""

    start_s: NonNegative  # from the run's start
    end_s: NonNegative
    calls: Count
    median_ms: NonNegative
    cpu_temp_c: float | None = None
    cpu_clock_mhz: NonNegative | None = None  # the fastest core's current clock
    cpu_cap_mhz: NonNegative | None = None  # the lowest scaling_max_freq
    throttled: str | None = None  # why the machine throttled at the window's end; None: it did not
    power_w: NonNegative | None = None  # where a meter measures
    j_per_inference: NonNegative | None = None


class SustainedResult(_Model):
    """`--sustain`: the forward pass back to back for minutes, as a timeline of windows."""

    method: str
    started_at: datetime
    duration_s: float = Field(gt=0)  # asked for
    window_s: float = Field(gt=0)
    windows: list[TimelineWindow]
    stopped_early: str | None = None  # why it stopped before its duration (a temperature limit)
    temp_limit_c: float | None = None
    power_meter: str | None = None  # the meter of the windows' power (None: none measures here)
    time_to_throttle_s: NonNegative | None = None  # end of the first window that ended throttled
    burst_s: NonNegative  # the spans the ratio compares: the first burst_s, the last sustained_s
    sustained_s: NonNegative
    burst_median_ms: NonNegative
    sustained_median_ms: NonNegative
    # sustained / burst: median of the last span's window medians over the first span's, bootstrap CI over windows
    ratio: float
    ratio_ci: tuple[float, float] | None = None

    @property
    def ran_s(self) -> float:
        return self.windows[-1].end_s if self.windows else 0.0


class PlanEstimate(_Model):
    """What the plan predicted for this case before the run (suite/plan/wall_time.py), beside what it took."""

    basis: str  # previous run | roofline | policy bounds
    predicted_s: NonNegative
    predicted_sampling_s: NonNegative
    predicted_call_ms: NonNegative | None = None
    actual_s: NonNegative  # the sum of the case's phases (an interleaved case counts its group's shared rounds)
    budget_s: NonNegative | None = None  # the run's --budget, when it had one
    timing_shrunk: bool = False  # the budget shortened the timed loop (the run's config holds the shrunk policy)

    @property
    def ratio(self) -> float | None:
        """actual / predicted (1: the estimate was right)."""
        return self.actual_s / self.predicted_s if self.predicted_s > 0 else None
