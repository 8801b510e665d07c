"""Backends side by side: the cross-hardware matrix and the backend comparisons."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from suite.report.backend_style import BASELINE_BACKEND, backend_order
from suite.report.badges import LATENCY, RATIO, STATUS, Flag, from_stored
from suite.report.format import DASH, fmt_ms, fmt_p, fmt_ratio, slug
from suite.report.merge import ComparisonView, Entry, ReportData
from suite.report.table import (
    Column,
    FlagMap,
    Row,
    Table,
    input_size_text,
    interval_text,
)

# A matrix cell: (device index in ReportData.devices, backend)
CellKey = tuple[int, str]


@dataclass(frozen=True)
class MatrixRatio:
    ratio: float  # backend median / baseline median
    significant: bool
    p_value: float | None


@dataclass(frozen=True)
class MatrixRow:
    model: str
    batch_size: int
    input_size: float | None
    resize: str | None  # the dataset pass's resize method (None: no dataset)
    medians: dict[CellKey, float | None]  # of the newest run; None: it ran, but has no timings
    ratios: dict[CellKey, MatrixRatio]  # the backends other than the baseline


def matrix_table(data: ReportData, flags: FlagMap) -> Table[MatrixRow]:
    """model x batch x size rows; per device: median per backend and the backend/baseline ratio."""
    matrix = data.matrix()
    backends = sorted({e.backend for e in data.entries}, key=backend_order)
    others = [b for b in backends if b != BASELINE_BACKEND]
    cols: list[Column[MatrixRow]] = [
        Column("model", "Model", nowrap=True),
        Column("batch_size", "Batch", numeric=True),
        Column("input_size", "Size", numeric=True, fmt=input_size_text),
        *([Column("resize", "Resize")] if any(k[4] is not None for k in matrix) else []),
    ]
    groups: list[tuple[str, int]] = [("", 3)]
    # CSV columns name the device: d0_core_i7_1165g7_ort_median_ms (the index keeps them unique)
    dev_keys = [f"d{di}_" + (re.sub(r"[^a-z0-9]+", "_", d.label.lower()).strip("_")[:32] or "device")
                for di, d in enumerate(data.devices)]
    for di, d in enumerate(data.devices):
        n = 0
        for b in backends:
            cols.append(Column(f"{dev_keys[di]}_{b}_median_ms", b, "ms", numeric=True, fmt=fmt_ms, nowrap=True,
                               measure=True, get=partial(_median, k=(di, b)),
                               help=f"median latency on {d.label} with {b}"))
            n += 1
        if BASELINE_BACKEND in backends:
            for b in others:
                cols.append(Column(f"{dev_keys[di]}_{b}_ratio", f"{b}/{BASELINE_BACKEND}", numeric=True, measure=True,
                                   fmt=_ratio_text, csv_value=_bare_ratio, nowrap=True,
                                   get=partial(_ratio_pair, k=(di, b)),
                                   help=f"{b} median / {BASELINE_BACKEND} median on {d.label}; "
                                        "< 1 means faster. (sig.) = the 95% CI excludes 1 and Mann-Whitney p < 0.05"))
                cols.append(Column(f"{dev_keys[di]}_{b}_significant", f"{b} significant", html=False, md=False,
                                   get=partial(_significant, k=(di, b))))
                cols.append(Column(f"{dev_keys[di]}_{b}_p_value", f"{b} p", html=False, md=False,
                                   get=partial(_p_value, k=(di, b))))
                n += 1
        groups.append((d.label, n))
    rows = []
    for key, cells in matrix.items():
        model, batch, _axis, size, resize = key
        medians: dict[CellKey, float | None] = {}
        ratios: dict[CellKey, MatrixRatio] = {}
        cell_flags: dict[str, list[Flag]] = {}
        titles: dict[str, str] = {}
        links: dict[str, str] = {"model": f"#{slug(model, 'model-')}"}
        for di, d in enumerate(data.devices):
            picked: dict[str, Entry] = {}
            for b in backends:
                es = cells.get((di, b), [])
                if not es:
                    continue
                e = es[0]  # newest run on this device
                picked[b] = e
                col = f"{dev_keys[di]}_{b}_median_ms"
                medians[(di, b)] = e.median_ms
                fl = [f for f in flags.get(e.uid, []) if f.applies(LATENCY) or f.applies(STATUS)]
                cell_flags[col] = fl
                links[col] = f"#{e.uid}"
                if e.summary is not None:
                    titles[col] = (f"95% CI [{fmt_ms(e.summary.median_ci_low_ms)}, "
                                   f"{fmt_ms(e.summary.median_ci_high_ms)}] ms, n={e.summary.n}")
                elif e.case.error is not None:
                    titles[col] = f"{e.case.error.kind}: {e.case.error.message}"
                if len(es) > 1:
                    titles[col] = titles.get(col, "") + f" (newest of {len(es)} runs on this device)"
            base = picked.get(BASELINE_BACKEND)
            for b in others:
                cand = picked.get(b)
                if base is None or cand is None:
                    continue
                cv = data.comparison_for(base, cand)
                if cv is None:
                    continue
                comp = cv.comparison
                col = f"{dev_keys[di]}_{b}_ratio"
                ratios[(di, b)] = MatrixRatio(comp.ratio, comp.significant, comp.p_value)
                titles[col] = (f"{comp.ratio:.3f} [{comp.ci_low:.3f}, {comp.ci_high:.3f}] "
                               f"({comp.ci_level:.0%} CI), p = {fmt_p(comp.p_value)}"
                               + (" (computed by the report)" if cv.computed else ""))
                cell_flags[col] = comparison_flags(cv, flags)
                links[col] = f"#{cand.uid}"
        rows.append(Row(MatrixRow(model=model, batch_size=batch, input_size=size, resize=resize, medians=medians,
                                  ratios=ratios),
                        cell_flags=cell_flags, titles=titles, links=links))
    return Table("matrix", "Cross-hardware matrix", cols, rows, groups=groups,
                 caption=f"Median latency per device and backend, and the backend/{BASELINE_BACKEND} ratio of "
                         f"medians (< 1: faster than {BASELINE_BACKEND}).")


# What a matrix row holds for one (device, backend) cell, per column.
def _median(row: MatrixRow, k: CellKey) -> float | None:
    return row.medians.get(k)


def _significant(row: MatrixRow, k: CellKey) -> bool | None:
    return row.ratios[k].significant if k in row.ratios else None


def _p_value(row: MatrixRow, k: CellKey) -> float | None:
    return row.ratios[k].p_value if k in row.ratios else None


# A matrix ratio cell's value is (ratio, significant): the text shows both, the CSV the bare ratio
# (significance has its own CSV column), the page sorts by the ratio.
def _ratio_pair(row: MatrixRow, k: CellKey) -> tuple[float, bool] | None:
    r = row.ratios.get(k)
    return None if r is None else (r.ratio, r.significant)


def _ratio_text(v: tuple[float, bool] | None) -> str:
    if v is None:
        return DASH
    ratio, significant = v
    return f"{fmt_ratio(ratio)} {'(sig.)' if significant else '(n.s.)'}"


def _bare_ratio(v: tuple[float, bool]) -> float:
    return v[0]


def comparison_flags(cv: ComparisonView, flags: FlagMap) -> list[Flag]:
    out: list[Flag] = []
    for e in (cv.baseline, cv.candidate):
        if e is None:
            continue
        out += [f for f in flags.get(e.uid, []) if f.applies(RATIO) and f not in out]
    # The comparison's own flags; a parity failure is already there, with its figures, from the candidate.
    have = {f.kind for f in out}
    out += [f for f in from_stored(cv.comparison.flags) if f.kind not in have]
    return out


@dataclass(frozen=True)
class ComparisonRow:
    device: str
    model: str
    batch_size: int
    input_size: float | None
    baseline: str  # backend
    candidate: str  # backend
    baseline_median_ms: float | None
    candidate_median_ms: float | None
    ratio: float
    ratio_ci: tuple[float, float]
    p_value: float | None
    significant: bool
    origin: str  # "stored" by the run or "computed" by the report


def comparisons_table(data: ReportData, flags: FlagMap) -> Table[ComparisonRow]:
    cols: list[Column[ComparisonRow]] = [
        Column("device", "Device", nowrap=True),
        Column("model", "Model", nowrap=True),
        Column("batch_size", "Batch", numeric=True),
        Column("input_size", "Size", numeric=True, fmt=input_size_text),
        Column("baseline", "Baseline"),
        Column("candidate", "Candidate"),
        Column("baseline_median_ms", "Baseline median", "ms", numeric=True, fmt=fmt_ms),
        Column("candidate_median_ms", "Candidate median", "ms", numeric=True, fmt=fmt_ms),
        Column("ratio", "Ratio", numeric=True, fmt=fmt_ratio, slot=RATIO, nowrap=True, measure=True,
               help="candidate median / baseline median"),
        Column("ratio_ci", "95% CI", numeric=True, fmt=interval_text(lambda x: f"{x:.2f}"), nowrap=True),
        Column("p_value", "p", numeric=True, fmt=fmt_p, help="two-sided Mann-Whitney U"),
        Column("significant", "Significant"),
        Column("origin", "Origin", help="stored by the run, or computed by the report from the samples"),
    ]
    rows = []
    for cv in sorted(data.comparisons, key=lambda cv: (cv.comparison.model.lower(), cv.device.label,
                                                       cv.comparison.input_size or 0, cv.comparison.batch_size,
                                                       backend_order(cv.comparison.candidate_backend))):
        c = cv.comparison
        rows.append(Row(ComparisonRow(
            device=cv.device.label, model=c.model, batch_size=c.batch_size, input_size=c.input_size,
            baseline=c.baseline_backend, candidate=c.candidate_backend,
            baseline_median_ms=cv.baseline.median_ms if cv.baseline else None,
            candidate_median_ms=cv.candidate.median_ms if cv.candidate else None,
            ratio=c.ratio, ratio_ci=(c.ci_low, c.ci_high), p_value=c.p_value,
            significant=c.significant, origin="computed" if cv.computed else "stored",
        ), cell_flags={"ratio": comparison_flags(cv, flags)},
            links={"device": f"#{cv.device.anchor}", "model": f"#{slug(c.model, 'model-')}"}))
    return Table("comparisons", "Backend comparisons", cols, rows,
                 caption="Ratio of medians with a percentile-bootstrap confidence interval; significant when the "
                         "interval excludes 1 and the Mann-Whitney test agrees (p < 0.05).")
