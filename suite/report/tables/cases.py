"""Case by case: every case with its numbers, the flags, the failures."""

from __future__ import annotations

from dataclasses import dataclass

from suite.report.badges import ENERGY, LATENCY, ROOF, STATUS, Flag
from suite.report.format import fmt_bytes, fmt_ms, fmt_si, fmt_size, sig, slug
from suite.report.merge import Entry, ReportData
from suite.report.table import (
    Column,
    FlagMap,
    Row,
    Table,
    input_size_text,
    interval_text,
)
from suite.results.schema import (
    LatencyResult,
    LatencySummary,
    RuntimeSettings,
    TorchBackends,
)
from suite.stats import early_stopping_min_samples


def case_label(e: Entry) -> str:
    s = e.spec
    size = f" \u00b7 {fmt_size(s.size_axis, s.input_size)}" if s.input_size is not None else ""
    return f"{s.model} \u00b7 {s.backend} \u00b7 batch {s.batch_size}{size}"


def energy_method(e: Entry) -> str | None:
    en = e.case.energy
    if en is None:
        return None
    rate = f", {sig(en.sample_rate_hz, 3)} Hz" if en.sample_rate_hz else ""
    return f"{en.method} ({en.meter}{rate})"


@dataclass(frozen=True)
class CaseRow:
    model: str
    device: str
    backend: str
    batch_size: int
    input_size: float | None
    size_axis: str | None
    resize: str | None  # how the dataset pass resized the images (None: no dataset)
    threads: int | None
    status: str  # in words: "parity failed"
    median_ms: float | None
    median_ci_ms: tuple[float, float] | None
    p90_ms: float | None
    p99_ms: float | None  # as stored (the CSV's); the page shows it only when p99_enough
    p99_enough: bool  # as many samples as a p99 claim needs
    samples: int | None
    throughput_items_s: float | None
    rss_peak_bytes: int | None
    model_bytes: int | None
    energy_gross_j: float | None
    energy_net_j: float | None
    energy_method: str | None
    carbon_g_per_million: float | None
    achieved_flops_s: float | None
    roof_fraction: float | None
    accuracy: str | None  # "0.76 top1"
    torch_settings: str | None = None  # torch.backends settings of a torch-run case
    arithmetic_intensity: float | None = None  # the rest of the case's roofline (CSV only)
    attainable_flops_s: float | None = None
    roof_bound: str | None = None  # compute | memory
    runtime: str | None = None  # the backend runtime's settings (CSV; the backend cell's title)
    settle_ms: float | None = None  # interleaved: median wait per switch to another backend (CSV)
    memory_scope: str | None = None  # whose process the peak RSS is (CSV; the cell's title)
    # What a deployed app sees (CSV; the report's own tables show them): issue 22
    cold_start_s: float | None = None  # import + load + first call in a fresh process
    paced_rate_hz: float | None = None
    paced_median_ms: float | None = None
    paced_missed: int | None = None
    sustained_ratio: float | None = None  # sustained / burst median
    time_to_throttle_s: float | None = None
    estimate_predicted_s: float | None = None
    estimate_actual_s: float | None = None

    @classmethod
    def of(cls, e: Entry) -> CaseRow:
        s = e.summary
        c = e.case
        en = c.energy
        return cls(
            model=e.model, device=e.device.label, backend=e.backend,
            batch_size=e.spec.batch_size, input_size=e.spec.input_size, size_axis=e.spec.size_axis,
            resize=e.spec.resize, threads=e.spec.threads, status=c.status.replace("_", " "),
            median_ms=s.median_ms if s else None,
            median_ci_ms=(s.median_ci_low_ms, s.median_ci_high_ms) if s else None,
            p90_ms=s.p90_ms if s else None, p99_ms=s.p99_ms if s else None,
            p99_enough=s is not None and s.n >= p99_needs(s),
            samples=s.n if s else None,
            throughput_items_s=s.throughput_items_s if s else None,
            rss_peak_bytes=c.memory.rss_peak_bytes if c.memory else None,
            model_bytes=c.memory.model_bytes if c.memory else None,
            energy_gross_j=en.gross_j_per_inference if en else None,
            energy_net_j=en.net_j_per_inference if en else None,
            energy_method=energy_method(e),
            carbon_g_per_million=c.carbon.g_per_million if c.carbon else None,
            achieved_flops_s=e.achieved_flops_s,
            roof_fraction=c.roofline.fraction_of_roof if c.roofline is not None else None,
            arithmetic_intensity=c.roofline.arithmetic_intensity if c.roofline is not None else None,
            attainable_flops_s=c.roofline.attainable_flops_s if c.roofline is not None else None,
            roof_bound=c.roofline.bound if c.roofline is not None else None,
            accuracy=(f"{c.accuracy.value:g} {c.accuracy.metric}" if c.accuracy else None),
            torch_settings=torch_settings_text(c.torch_backends),
            runtime=runtime_text(c.runtime), settle_ms=settle_median(c.latency),
            memory_scope=MEMORY_SCOPES.get(c.memory.scope or "") if c.memory else None,
            cold_start_s=c.cold_start.to_first_result_s if c.cold_start else None,
            paced_rate_hz=c.paced.rate_hz if c.paced else None, paced_median_ms=c.paced.median_ms if c.paced else None,
            paced_missed=c.paced.missed if c.paced else None,
            sustained_ratio=c.sustained.ratio if c.sustained else None,
            time_to_throttle_s=c.sustained.time_to_throttle_s if c.sustained else None,
            estimate_predicted_s=c.estimate.predicted_s if c.estimate else None,
            estimate_actual_s=c.estimate.actual_s if c.estimate else None,
        )


# The cold start, paced, sustained and estimate figures of a case, one row per case in the CSV (issue 22).
APP_COLUMNS = (("cold_start_s", "Cold start to first result", "s"), ("paced_rate_hz", "Paced rate", "/s"),
               ("paced_median_ms", "Paced median", "ms"), ("paced_missed", "Missed deadlines", ""),
               ("sustained_ratio", "Sustained / burst", "x"), ("time_to_throttle_s", "Time to throttle", "s"),
               ("estimate_predicted_s", "Predicted wall time", "s"), ("estimate_actual_s", "Actual wall time", "s"))

MEMORY_SCOPES = {"case": "the case's own worker",
                 "alone": "its backend alone, in a worker of its own (the case was timed interleaved)"}


def runtime_text(rt: RuntimeSettings | None) -> str | None:
    if rt is None:
        return None
    text = f"{rt.runtime}: " + "; ".join(f"{k} = {v}" for k, v in rt.settings.items())
    return text + (f"; between blocks: {rt.between_blocks}" if rt.between_blocks else "")


def settle_median(latency: LatencyResult | None) -> float | None:
    """The median wait for the worker to settle at a switch to another backend (0 waits left out:
    its own block came next)."""
    waits = [w for w in (latency.settle_ms or []) if w > 0] if latency is not None else []
    if not waits:
        return None
    import statistics

    return statistics.median(waits)


def roof_text(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.0f}%" if v >= 0.01 else f"{100 * v:.1f}%"


def torch_settings_text(tb: TorchBackends | None) -> str | None:
    if tb is None:
        return None
    mkldnn = {True: "on", False: "off", None: "?"}[tb.mkldnn_enabled]
    return (f"mkldnn {mkldnn}, {tb.num_threads} threads, {tb.num_interop_threads} interop, "
            f"{'channels_last' if tb.channels_last else 'contiguous'}")


def cases_table(entries: list[Entry], flags: FlagMap, *, include_model: bool = True, name: str = "cases",
                title: str = "All cases") -> Table[CaseRow]:
    has_acc = any(e.case.accuracy is not None for e in entries)
    cols: list[Column[CaseRow]] = [
        Column("model", "Model", nowrap=True, md=include_model, html=include_model),
        Column("device", "Device", nowrap=True),
        Column("backend", "Backend"),
        Column("batch_size", "Batch", numeric=True),
        Column("input_size", "Size", numeric=True, fmt=input_size_text),
        Column("size_axis", "Size axis", html=False, md=False),
        # Cases that differ only in the resize method of their dataset pass: say which is which.
        *([Column("resize", "Resize")] if any(e.spec.resize is not None for e in entries) else []),
        Column("threads", "Threads", numeric=True, html=False, md=False),
        Column("status", "Status", slot=STATUS, nowrap=True, restates=frozenset({"failed", "skipped", "parity_failed"})),
        Column("median_ms", "Median", "ms", numeric=True, fmt=fmt_ms, slot=LATENCY, nowrap=True, measure=True),
        Column("median_ci_ms", "95% CI", "ms", numeric=True, fmt=interval_text(fmt_ms), nowrap=True,
               help="distribution-free confidence interval of the median", measure=True),
        Column("p90_ms", "p90", "ms", numeric=True, fmt=fmt_ms, measure=True),
        Column("p99_shown_ms", "p99", "ms", numeric=True, fmt=fmt_ms, measure=True, csv=False,
               get=lambda r: r.p99_ms if r.p99_enough else None,
               help="blank when the case has fewer samples than a p99 claim needs (MLPerf LoadGen early stopping: 662)"),
        Column("p99_ms", "p99", "ms", numeric=True, html=False, md=False),
        Column("samples", "n", numeric=True, help="timed samples (warm-up excluded)"),
        Column("throughput_items_s", "Throughput", "items/s", numeric=True, fmt=lambda v: fmt_si(v), measure=True),
        Column("rss_peak_bytes", "Peak RSS", numeric=True, fmt=fmt_bytes, help="peak resident memory of the process", measure=True),
        Column("model_bytes", "Model memory", numeric=True, fmt=fmt_bytes, md=False, measure=True),
        Column("energy_gross_j", "Energy gross", "J/inf", numeric=True, fmt=lambda v: fmt_si(v, "J"), slot=ENERGY,
               nowrap=True, help="energy per inference, everything the meter saw", measure=True),
        Column("energy_net_j", "Energy net", "J/inf", numeric=True, fmt=lambda v: fmt_si(v, "J"), slot=ENERGY,
               nowrap=True, help="energy per inference above idle power", measure=True),
        Column("energy_method", "Energy method", slot=ENERGY, restates=frozenset({"energy_estimated"})),
        Column("carbon_g_per_million", "CO\u2082e", "g/1M inf", numeric=True, fmt=lambda v: fmt_si(v, "g"),
               slot=ENERGY, help="grams CO2-equivalent per million inferences", measure=True),
        Column("achieved_flops_s", "Achieved", "FLOP/s", numeric=True, fmt=lambda v: fmt_si(v, "FLOP/s"), measure=True),
        Column("roof_fraction", "% of roof", numeric=True, fmt=roof_text, slot=ROOF,
               help="achieved FLOP/s / attainable FLOP/s: min(measured GEMM peak, arithmetic intensity x measured "
                    "bandwidth); see the roofline figure", measure=True),
        # The rest of the roofline, for re-plotting it from the CSV (the tables stay narrow).
        Column("arithmetic_intensity_flop_per_byte", "Intensity", "FLOP/byte", numeric=True, html=False, md=False,
               get=lambda r: r.arithmetic_intensity),
        Column("attainable_flops_s", "Attainable", "FLOP/s", numeric=True, html=False, md=False),
        Column("roof_bound", "Bound", html=False, md=False),
    ]
    if has_acc:
        cols.append(Column("accuracy", "Accuracy", numeric=True))
    cols.append(Column("torch_settings", "torch settings", html=False, md=False))
    cols.append(Column("runtime", "Runtime settings", html=False, md=False))
    cols.append(Column("settle_ms", "Settle", "ms", numeric=True, html=False, md=False,
                       help="interleaved: median wait per switch to another backend until no other thread ran"))
    cols.append(Column("memory_scope", "Peak RSS of", html=False, md=False))
    cols += [Column(key, title, unit, numeric=True, html=False, md=False) for key, title, unit in APP_COLUMNS]
    rows = []
    for e in entries:
        s = e.summary
        c = e.case
        titles = {}
        if c.error is not None:
            titles["status"] = f"{c.error.kind}: {c.error.message}"
        if c.runtime is not None:
            titles["backend"] = runtime_text(c.runtime) or ""
            wait = settle_median(c.latency)
            if wait is not None:
                titles["backend"] += f" (median wait {wait:.1f} ms per switch)"
        elif c.torch_backends is not None:
            titles["backend"] = f"torch: {torch_settings_text(c.torch_backends)}"
        if c.memory is not None and c.memory.scope in MEMORY_SCOPES:
            titles["rss_peak_bytes"] = f"peak resident memory of {MEMORY_SCOPES[c.memory.scope]}"
        if s is not None:
            titles["median_ms"] = f"mean {fmt_ms(s.mean_ms)} ms, std {fmt_ms(s.std_ms)} ms, CV {s.cv:.1%}"
            if s.outliers_mild is not None:
                titles["median_ms"] += f"; Tukey outliers: {s.outliers_mild} mild, {s.outliers_severe} severe"
            titles["p90_ms"] = tail_title("p90", s.p90_ci_low_ms, s.p90_ci_high_ms, s.ci_level)
            titles["p99_shown_ms"] = tail_title("p99", s.p99_ci_low_ms, s.p99_ci_high_ms, s.ci_level)
            if s.n < p99_needs(s):
                titles["p99_shown_ms"] = (f"too few samples for a p99: {s.n} taken, {p99_needs(s)} needed (MLPerf LoadGen's "
                                    f"early-stopping bound); the figure from {s.n} would be {fmt_ms(s.p99_ms)} ms")
        rows.append(Row(
            CaseRow.of(e),
            flags=flags.get(e.uid, []),
            links={"model": f"#{slug(e.model, 'model-')}", "device": f"#{e.device.anchor}"},
            titles=titles,
            anchor=e.uid,
            css=f"status-{c.status}",
        ))
    return Table(name, title, cols, rows)


def p99_needs(s: LatencySummary) -> int:
    """Samples a p99 claim needs (stored since issue 13; computed for older files)."""
    if s.p99_min_samples is not None:
        return s.p99_min_samples

    return early_stopping_min_samples(0.99)


def tail_title(name: str, low: float | None, high: float | None, level: float) -> str:
    if low is None and high is None:
        return f"{name}: no {level:.0%} order-statistic CI (too few samples)"
    lo = fmt_ms(low) if low is not None else "?"
    hi = fmt_ms(high) if high is not None else "? (too few samples beyond it)"
    return f"{name} {level:.0%} CI (order statistics) [{lo}, {hi}] ms"


_SEVERITY_WORDS = {"bad": "do not trust", "warn": "read with care", "info": "note"}


@dataclass(frozen=True)
class FlagRow:
    severity: str  # in words: "do not trust"
    flag: str
    device: str
    detail: str
    count: int  # cases it is folded from
    case: str


def flags_table(data: ReportData, flags: FlagMap) -> Table[FlagRow]:
    """One row per flag, except that identical flags on one device (every case of a Pi without a
    power sensor is "estimated") are folded into one row that counts them."""
    cols: list[Column[FlagRow]] = [
        Column("severity", "Severity", nowrap=True),
        Column("flag", "Flag", nowrap=True),
        Column("device", "Device", nowrap=True),
        Column("detail", "Detail"),
        Column("count", "Cases", numeric=True),
        Column("case", "Case"),
    ]
    order = {"bad": 0, "warn": 1, "info": 2}
    groups: dict[tuple, list[tuple[Flag, Entry]]] = {}
    for e in data.entries:
        for f in flags.get(e.uid, []):
            groups.setdefault((f.severity, f.kind, id(e.device), f.detail), []).append((f, e))
    items = sorted(groups.values(), key=lambda fes: (order[fes[0][0].severity], fes[0][0].kind,
                                                      fes[0][1].device.label, fes[0][1].model.lower()))
    rows = []
    for fes in items:
        f, e = fes[0]
        case = case_label(e) if len(fes) == 1 else f"{case_label(e)} and {len(fes) - 1} more"
        rows.append(Row(FlagRow(severity=_SEVERITY_WORDS[f.severity], flag=f.label, device=e.device.label,
                                detail=f.detail, count=len(fes), case=case),
                        links={"case": f"#{e.uid}", "device": f"#{e.device.anchor}"}, css=f"sev-{f.severity}"))
    return Table("flags", "Flags", cols, rows,
                 caption="Every reason to read a number with care, also shown beside the number it qualifies.")


@dataclass(frozen=True)
class FailureRow:
    device: str
    case: str
    status: str  # in words: "parity failed"
    kind: str | None
    message: str | None


def failures_table(data: ReportData) -> Table[FailureRow]:
    cols: list[Column[FailureRow]] = [
        Column("device", "Device", nowrap=True),
        Column("case", "Case"),
        Column("status", "Status", nowrap=True),
        Column("kind", "Error kind"),
        Column("message", "Message"),
    ]
    rows = []
    for e in data.entries:
        if e.status not in ("failed", "parity_failed"):
            continue
        err = e.case.error
        rows.append(Row(FailureRow(device=e.device.label, case=case_label(e), status=e.status.replace("_", " "),
                                   kind=err.kind if err else None, message=err.message if err else None),
                        links={"case": f"#{e.uid}", "device": f"#{e.device.anchor}"}))
    return Table("failures", "Failed cases", cols, rows)
