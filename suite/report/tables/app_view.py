"""What a deployed app sees (issue 22), as tables: each case's cold start beside its warm figure, and
its calls at a fixed rate beside back-to-back (latency and energy per frame)."""

from __future__ import annotations

from dataclasses import dataclass

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
