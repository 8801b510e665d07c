"""What a deployed app sees (issue 22), as tables: each case's cold start beside its warm figure, its
calls at a fixed rate beside back-to-back (latency and energy per frame), and its sustained run."""

from __future__ import annotations

from dataclasses import dataclass

from suite import stats

from suite.report.format import fmt_bytes, fmt_ms, fmt_si
from suite.report.merge import ReportData
from suite.report.table import Column, Row, Table
from suite.report.tables.cases import case_label


@dataclass(frozen=True)
class ColdStartRow:
    case: str
    device: str
    import_ms: float
    load_ms: float
    first_call_ms: float
    to_first_result_ms: float
    warm_median_ms: float | None  # the case's warm median, from its timed loop
    first_vs_warm: float | None  # the first call over the warm median
    rss_after_load_bytes: int | None
    rss_after_first_call_bytes: int | None


def cold_start_table(data: ReportData) -> Table[ColdStartRow] | None:
    """One row per case with a cold start; None when no case has one."""
    cols: list[Column[ColdStartRow]] = [
        Column("case", "Case"),
        Column("device", "Device", nowrap=True),
        Column("import_ms", "Import", "ms", numeric=True, fmt=fmt_ms, help="importing the backend's runtime, first "
               "thing in a fresh Python process"),
        Column("load_ms", "Load", "ms", numeric=True, fmt=fmt_ms, help="model build, or the session loading the "
               "case's graph file"),
        Column("first_call_ms", "First call", "ms", numeric=True, fmt=fmt_ms),
        Column("to_first_result_ms", "To first result", "ms", numeric=True, fmt=fmt_ms,
               help="import + load + first call (the interpreter's own start is not included)"),
        Column("warm_median_ms", "Warm median", "ms", numeric=True, fmt=fmt_ms, help="the case's timed loop"),
        Column("first_vs_warm", "First / warm", "x", numeric=True, fmt=lambda v: "-" if v is None else f"{v:.3g}"),
        Column("rss_after_load_bytes", "RSS after load", numeric=True, fmt=fmt_bytes),
        Column("rss_after_first_call_bytes", "RSS after 1st call", numeric=True, fmt=fmt_bytes),
    ]
    rows = []
    for e in data.entries:
        cold = e.case.cold_start
        if cold is None:
            continue
        warm = e.case.latency.summary.median_ms if e.case.latency is not None else None
        rows.append(Row(ColdStartRow(
            case=case_label(e), device=e.device.label, import_ms=cold.import_s * 1e3, load_ms=cold.load_s * 1e3,
            first_call_ms=cold.first_call_s * 1e3, to_first_result_ms=cold.to_first_result_s * 1e3,
            warm_median_ms=warm, first_vs_warm=cold.first_call_s * 1e3 / warm if warm else None,
            rss_after_load_bytes=cold.rss_after_load_bytes, rss_after_first_call_bytes=cold.rss_after_first_call_bytes,
        ), links={"case": f"#{e.uid}"}))
    if not rows:
        return None
    return Table("cold-start", "Cold start", cols, rows,
                 caption="What an app's start-up costs: a fresh Python process imports the backend's runtime, "
                         "builds the model or loads its graph file, and makes one call (suite/run/cold_start.py; "
                         "page cache warm, so a first start after boot is slower). Beside it the warm median of the "
                         "case's timed loop.")


@dataclass(frozen=True)
class PacedRow:
    case: str
    device: str
    rate_hz: float
    period_ms: float
    achieved_period_ms: float | None
    period_error_ms: float | None  # the bound the stored starts put on the achieved period
    frames: int
    missed: int
    idle_gaps: int
    paced_median_ms: float
    back_to_back_median_ms: float | None
    paced_vs_back_to_back: float | None
    ratio_ci: tuple[float, float] | None
    j_per_frame: float | None  # at the rate, idle time included
    idle_j_per_frame: float | None
    active_j_per_frame: float | None
    j_per_inference_back_to_back: float | None
    energy_method: str | None


def _ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.3g}"


def _ci(v: tuple[float, float] | None) -> str:
    return "-" if v is None else f"[{v[0]:.3g}, {v[1]:.3g}]"


def _joules(v: float | None) -> str:
    return fmt_si(v, "J")


def paced_table(data: ReportData) -> Table[PacedRow] | None:
    """One row per case run at a fixed rate (--rate); None when none was."""
    cols: list[Column[PacedRow]] = [
        Column("case", "Case"),
        Column("device", "Device", nowrap=True),
        Column("rate_hz", "Rate", "/s", numeric=True, fmt=lambda v: f"{v:g}"),
        Column("period_ms", "Period", "ms", numeric=True, fmt=fmt_ms),
        Column("achieved_period_ms", "Achieved", "ms", numeric=True, fmt=fmt_ms,
               help="mean spacing of the calls' stored starts"),
        Column("period_error_ms", "± bound", "ms", numeric=True, fmt=fmt_ms,
               help="how far the achieved period can be off: the spread of the calls' lags over (calls - 1)"),
        Column("frames", "Frames", numeric=True),
        Column("missed", "Missed", numeric=True, help="calls that ended after their frame's deadline"),
        Column("idle_gaps", "Idle gaps", numeric=True, help="calls before which the thread slept"),
        Column("paced_median_ms", "Paced median", "ms", numeric=True, fmt=fmt_ms),
        Column("back_to_back_median_ms", "Back-to-back", "ms", numeric=True, fmt=fmt_ms),
        Column("paced_vs_back_to_back", "Paced / b2b", "x", numeric=True, fmt=_ratio),
        Column("ratio_ci", "95% CI", fmt=_ci, csv_value=lambda v: None if v is None else f"{v[0]:.6g};{v[1]:.6g}"),
        Column("j_per_frame", "J / frame", numeric=True, fmt=_joules, help="at the rate, idle time between calls "
               "included: what a battery pays per frame"),
        Column("idle_j_per_frame", "of it idle", numeric=True, fmt=_joules),
        Column("active_j_per_frame", "of it active", numeric=True, fmt=_joules),
        Column("j_per_inference_back_to_back", "J / inference b2b", numeric=True, fmt=_joules),
        Column("energy_method", "Energy"),
    ]
    rows = []
    for e in data.entries:
        p = e.case.paced
        if p is None:
            continue
        en, b2b = p.energy, e.case.energy
        rows.append(Row(PacedRow(
            case=case_label(e), device=e.device.label, rate_hz=p.rate_hz, period_ms=p.period_ms,
            achieved_period_ms=p.achieved_period_ms, period_error_ms=p.period_error_bound_ms, frames=len(p.starts_ms),
            missed=p.missed, idle_gaps=p.idle_gaps, paced_median_ms=p.median_ms,
            back_to_back_median_ms=e.case.latency.summary.median_ms if e.case.latency is not None else None,
            paced_vs_back_to_back=p.vs_back_to_back, ratio_ci=p.vs_back_to_back_ci,
            j_per_frame=en.gross_j_per_frame if en else None, idle_j_per_frame=en.idle_j_per_frame if en else None,
            active_j_per_frame=en.active_j_per_frame if en else None,
            j_per_inference_back_to_back=b2b.gross_j_per_inference if b2b else None,
            energy_method=f"{en.method} ({en.meter})" if en else None,
        ), links={"case": f"#{e.uid}"}))
    if not rows:
        return None
    return Table("paced", "Paced calls vs back-to-back", cols, rows,
                 caption="The forward pass at a fixed rate, the thread idle between calls, as a camera app calls it "
                         "(suite/metrics/paced.py: absolute deadlines, so a late wake-up never shifts the frames after "
                         "it), beside the back-to-back timed loop. Energy per frame holds the idle time between calls "
                         "(gross); with an idle baseline it splits into idle share + active.")


@dataclass(frozen=True)
class SustainedRow:
    case: str
    device: str
    ran_s: float
    asked_s: float
    windows: int
    time_to_throttle_s: float | None
    burst_median_ms: float
    sustained_median_ms: float
    ratio: float
    ratio_ci: tuple[float, float] | None
    temp_start_c: float | None
    temp_max_c: float | None
    clock_min_mhz: float | None
    j_per_inference_first: float | None
    j_per_inference_last: float | None
    stopped_early: str | None


def sustained_table(data: ReportData) -> Table[SustainedRow] | None:
    """One row per case with a sustained run (--sustain); None when none had one."""
    cols: list[Column[SustainedRow]] = [
        Column("case", "Case"),
        Column("device", "Device", nowrap=True),
        Column("ran_s", "Ran", "s", numeric=True, fmt=lambda v: f"{v:.1f}"),
        Column("asked_s", "Asked", "s", numeric=True, fmt=lambda v: f"{v:g}"),
        Column("windows", "Windows", numeric=True),
        Column("time_to_throttle_s", "To throttle", "s", numeric=True,
               fmt=lambda v: "never" if v is None else f"{v:.1f}", help="end of the first window that ended "
               "throttled (a clock cap lowered, or the firmware's throttle bits): precise to one window"),
        Column("burst_median_ms", "Burst", "ms", numeric=True, fmt=fmt_ms, help="median of the window medians of "
               "the first 10 s (a short run: its first quarter)"),
        Column("sustained_median_ms", "Sustained", "ms", numeric=True, fmt=fmt_ms,
               help="median of the window medians of the last minute (a short run: the rest)"),
        Column("ratio", "Sustained / burst", "x", numeric=True, fmt=_ratio),
        Column("ratio_ci", "95% CI", fmt=_ci, help="bootstrap over the windows",
               csv_value=lambda v: None if v is None else f"{v[0]:.6g};{v[1]:.6g}"),
        Column("temp_start_c", "Temp start", "°C", numeric=True, fmt=lambda v: "-" if v is None else f"{v:.1f}"),
        Column("temp_max_c", "Temp max", "°C", numeric=True, fmt=lambda v: "-" if v is None else f"{v:.1f}"),
        Column("clock_min_mhz", "Clock min", "MHz", numeric=True, fmt=lambda v: "-" if v is None else f"{v:,.0f}"),
        Column("j_per_inference_first", "J/inf first", numeric=True, fmt=_joules, help="first window, where a meter "
               "measures"),
        Column("j_per_inference_last", "J/inf last", numeric=True, fmt=_joules),
        Column("stopped_early", "Stopped early"),
    ]
    rows = []
    for e in data.entries:
        s = e.case.sustained
        if s is None or not s.windows:
            continue
        temps = [w.cpu_temp_c for w in s.windows if w.cpu_temp_c is not None]
        clocks = [w.cpu_clock_mhz for w in s.windows if w.cpu_clock_mhz is not None]
        rows.append(Row(SustainedRow(
            case=case_label(e), device=e.device.label, ran_s=s.ran_s, asked_s=s.duration_s, windows=len(s.windows),
            time_to_throttle_s=s.time_to_throttle_s, burst_median_ms=s.burst_median_ms,
            sustained_median_ms=s.sustained_median_ms, ratio=s.ratio, ratio_ci=s.ratio_ci,
            temp_start_c=temps[0] if temps else None, temp_max_c=max(temps) if temps else None,
            clock_min_mhz=min(clocks) if clocks else None, j_per_inference_first=s.windows[0].j_per_inference,
            j_per_inference_last=s.windows[-1].j_per_inference, stopped_early=s.stopped_early,
        ), links={"case": f"#{e.uid}"}))
    if not rows:
        return None
    return Table("sustained", "Sustained load", cols, rows,
                 caption="Each case run back to back for minutes (--sustain), in windows: when the machine first "
                         "throttled, and how the last minute's latency compares with the first 10 s (the figure "
                         "'Sustained load: latency and temperature over time' shows every window).")


@dataclass(frozen=True)
class EstimateRow:
    case: str
    device: str
    basis: str
    predicted_s: float
    actual_s: float
    actual_over_predicted: float | None
    timing_shrunk: bool


def estimate_table(data: ReportData) -> Table[EstimateRow] | None:
    """The plan's predicted wall time of each case beside the actual one; None when no case has one."""
    cols: list[Column[EstimateRow]] = [
        Column("case", "Case"),
        Column("device", "Device", nowrap=True),
        Column("basis", "Estimated from", help="previous run of the case, roofline (FLOPs and bytes under the "
               "device's ceilings), or the timing policy's bounds (suite/plan/wall_time.py)"),
        Column("predicted_s", "Predicted", "s", numeric=True, fmt=lambda v: f"{v:.3g}"),
        Column("actual_s", "Actual", "s", numeric=True, fmt=lambda v: f"{v:.3g}", help="the sum of the case's phases"),
        Column("actual_over_predicted", "Actual / predicted", "x", numeric=True, fmt=_ratio),
        Column("timing_shrunk", "Shrunk by --budget"),
    ]
    rows = [Row(EstimateRow(case=case_label(e), device=e.device.label, basis=est.basis, predicted_s=est.predicted_s,
                            actual_s=est.actual_s, actual_over_predicted=est.ratio, timing_shrunk=est.timing_shrunk),
                links={"case": f"#{e.uid}"})
            for e in data.entries if (est := e.case.estimate) is not None]
    if not rows:
        return None
    ratios = [r.data.actual_over_predicted for r in rows if r.data.actual_over_predicted is not None]
    spread = ""
    if ratios:
        spread = (f" Actual / predicted over these {len(ratios)} cases: median {stats.percentile(ratios, 50):.3g}, "
                  f"middle half {stats.percentile(ratios, 25):.3g}-{stats.percentile(ratios, 75):.3g}.")
    return Table("plan-estimate", "Plan estimate vs actual wall time", cols, rows,
                 caption="Before a run the plan estimates each case's wall time and prints the total; after it, "
                         "each case keeps the estimate beside its actual time, so the estimate can be judged." + spread)
