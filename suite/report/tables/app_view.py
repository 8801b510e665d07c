"""What a deployed app sees (issue 22), as tables: each case's cold start beside its warm figure."""

from __future__ import annotations

from dataclasses import dataclass

from suite.report.format import fmt_bytes, fmt_ms
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
