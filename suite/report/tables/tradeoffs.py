"""The accuracy-vs-efficiency tables (Lab 2): every point with its Pareto fronts, the handout's
energy and carbon table, and the paired accuracy changes of the backends against eager."""

from __future__ import annotations

from dataclasses import dataclass

from suite.report.backend_style import backend_order
from suite.report.badges import ENERGY, LATENCY, STATUS
from suite.report.format import fmt_count, fmt_ms, fmt_p, fmt_si, sig, slug
from suite.report.merge import ComparisonView, ReportData
from suite.report.study_points import (
    StudyData,
    StudyPoint,
    g_to_kg,
    is_fraction,
    j_to_kwh,
    metric_label,
    shown,
    study_points,
)
from suite.report.table import (
    Column,
    FlagMap,
    Row,
    Table,
    input_size_text,
    interval_text,
    md_escape,
)
from suite.results.equivalents import EQUIVALENTS, EQUIVALENTS_SOURCE

ALPHA = 0.05


def _acc_text(v: float | None) -> str:
    return "\u2013" if v is None else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"


def _sci(v: float | None) -> str:
    """kWh and kg per inference are tiny: 3 significant digits in scientific notation."""
    return "\u2013" if v is None else f"{v:.3g}" if v == 0 else f"{v:.3e}"


@dataclass(frozen=True)
class StudyRow:
    device: str
    model: str
    params: int | None
    input_size: float | None
    resize: str | None
    backend: str
    metric: str
    accuracy: float
    accuracy_ci: tuple[float, float] | None
    samples: int | None
    flops_per_item: int | None
    latency_ms: float | None
    latency_batch: int | None
    per_example_ms: float | None
    energy_j: float | None
    energy_basis: str | None
    latency_front: bool | None
    energy_front: bool | None

    @classmethod
    def of(cls, p: StudyPoint) -> StudyRow:
        return cls(device=p.device.label, model=p.model, params=p.params, input_size=p.input_size, resize=p.resize,
                   backend=p.backend, metric=metric_label(p.metric), accuracy=p.accuracy, accuracy_ci=p.accuracy_ci,
                   samples=p.samples, flops_per_item=p.flops_per_item, latency_ms=p.latency_ms,
                   latency_batch=p.latency_batch, per_example_ms=p.per_example_ms, energy_j=p.energy_j,
                   energy_basis=p.energy_basis,
                   latency_front=p.on_latency_front if p.latency_ms is not None else None,
                   energy_front=p.on_energy_front if p.energy_j is not None else None)


def _row_notes(p: StudyPoint, flags: FlagMap) -> dict:
    e = p.entry or p.accuracy_entry
    return {"flags": flags.get(e.uid, []), "links": {"model": f"#{slug(p.model, 'model-')}",
                                                    "device": f"#{p.device.anchor}", "backend": f"#{e.uid}"}}


def study_table(study: StudyData, flags: FlagMap) -> Table[StudyRow]:
    cols: list[Column[StudyRow]] = [
        Column("device", "Device", nowrap=True),
        Column("model", "Model", nowrap=True),
        Column("params", "Params", numeric=True, fmt=fmt_count),
        Column("input_size", "Input size", numeric=True, fmt=input_size_text),
        Column("resize", "Resize"),
        Column("backend", "Backend", slot=STATUS, restates=frozenset({"parity_failed"})),
        Column("metric", "Metric", nowrap=True),
        Column("accuracy", "Accuracy", numeric=True, fmt=_acc_text),
        Column("accuracy_ci", "95% CI", numeric=True, fmt=interval_text(_acc_text), nowrap=True,
               help="Wilson interval for a proportion, bootstrap for a mean of per-sample scores"),
        Column("samples", "n", numeric=True, help="samples scored"),
        Column("flops_per_item", "FLOPs / example", numeric=True, fmt=fmt_count),
        Column("latency_ms", "Latency", "ms/example", numeric=True, fmt=fmt_ms, slot=LATENCY, measure=True,
               help="median latency of the case / its batch size"),
        Column("latency_batch", "from batch", numeric=True, help="the batch size the latency and energy come from"),
        Column("per_example_ms", "Dataset pass", "ms/example", numeric=True, fmt=fmt_ms,
               help="model time per example over the whole dataset pass (preprocessing timed apart)"),
        Column("energy_j", "Energy", "J/example", numeric=True, fmt=lambda v: fmt_si(v, "J"), slot=ENERGY,
               measure=True, nowrap=True, help="net of idle power when the idle power is known, else gross"),
        Column("energy_basis", "Energy basis", html=False, md=False),
        Column("latency_front", "On the front: latency", help="Pareto front of accuracy vs latency (per device)"),
        Column("energy_front", "On the front: energy", help="Pareto front of accuracy vs energy (per device)"),
    ]
    rows = [Row(StudyRow.of(p), **_row_notes(p, flags)) for p in study.points]
    return Table("study-points", "Accuracy vs efficiency: every point", cols, rows,
                 caption="One row per device, model, input size, resize method and backend with an accuracy. "
                         f"Latency: {study.latency_source_text()}. A point is on a front when no other point of "
                         "its device (and dataset) is at least as accurate and at least as cheap, and better in one; "
                         "cases that failed the parity check are left off the fronts.")


# ----------------------------------------------------------------------------- energy and carbon


@dataclass(frozen=True)
class CarbonRow:
    device: str
    model: str
    input_size: float | None
    resize: str | None
    backend: str
    params: int | None
    energy_kwh: float | None  # per example
    energy_basis: str | None
    kg_co2eq: float | None  # per example
    kg_co2eq_per_1000: float | None
    method: str | None
    intensity_g_per_kwh: float | None
    car_km_per_1000: float | None
    smartphone_charges_per_1000: float | None


def carbon_table(study: StudyData, flags: FlagMap) -> Table[CarbonRow]:
    cols: list[Column[CarbonRow]] = [
        Column("device", "Device", nowrap=True),
        Column("model", "Model", nowrap=True),
        Column("input_size", "Input size", numeric=True, fmt=input_size_text),
        Column("resize", "Resize"),
        Column("backend", "Backend"),
        Column("params", "Parameters", numeric=True, fmt=fmt_count),
        Column("energy_kwh", "Energy", "kWh", numeric=True, fmt=_sci, slot=ENERGY, measure=True, nowrap=True,
               help="per inference of one example; net of idle when known (see basis)"),
        Column("energy_basis", "Basis", help="net: above idle power; gross: all the device drew"),
        Column("kg_co2eq", "Carbon", "kg CO\u2082eq", numeric=True, fmt=_sci, slot=ENERGY, measure=True,
               nowrap=True, help="per inference: gross energy x the grid's carbon intensity"),
        Column("kg_co2eq_per_1000", "Carbon per 1,000", "kg CO\u2082eq", numeric=True, fmt=_sci, slot=ENERGY,
               measure=True, nowrap=True),
        Column("method", "Method", slot=ENERGY, restates=frozenset({"energy_estimated"}),
               help="measured (counter, sampled sensor) or estimated (no sensor)"),
        Column("intensity_g_per_kwh", "Grid", "g/kWh", numeric=True, fmt=lambda v: sig(v, 3)),
        Column("car_km_per_1000", "Car", "km per 1,000", numeric=True, fmt=_sci,
               help=EQUIVALENTS["car_km_per_million"][1]),
        Column("smartphone_charges_per_1000", "Phone charges", "per 1,000", numeric=True, fmt=_sci,
               help=EQUIVALENTS["smartphone_charges_per_million"][1]),
    ]
    rows = []
    for p in study.points:
        if p.energy_j is None and p.carbon_g is None:
            continue
        c = (p.entry or p.accuracy_entry).case
        method = None if p.energy_method is None else (
            f"measured ({p.energy_method})" if p.energy_method != "estimated" else "estimated")
        eq = _equivalents_per_1000(p, EQUIVALENTS)
        rows.append(Row(CarbonRow(
            device=p.device.label, model=p.model, input_size=p.input_size, resize=p.resize, backend=p.backend,
            params=p.params, energy_kwh=j_to_kwh(p.energy_j), energy_basis=p.energy_basis,
            kg_co2eq=g_to_kg(p.carbon_g), kg_co2eq_per_1000=g_to_kg(None if p.carbon_g is None else p.carbon_g * 1000),
            method=method, intensity_g_per_kwh=c.carbon.intensity_g_per_kwh if c.carbon else None,
            car_km_per_1000=eq.get("car_km_per_million"),
            smartphone_charges_per_1000=eq.get("smartphone_charges_per_million"),
        ), **_row_notes(p, flags)))
    return Table("study-energy", "Energy and carbon per inference", cols, rows,
                 caption="The handout's table, for every point with an energy figure: one inference of one example "
                         "(at a larger batch, the batch's figure divided by its size). kWh = J / 3.6e6; kg = g / 1000. "
                         "Carbon is the gross energy times the grid's intensity (as stored by the run); the energy "
                         "column is net of idle power where the idle power is known. Everyday equivalents of 1,000 "
                         f"inferences, from the {EQUIVALENTS_SOURCE}.")


def _equivalents_per_1000(p: StudyPoint, factors: dict) -> dict[str, float]:
    """The stored equivalents (per million) / 1000; for files that stored none, the same factors
    (g CO2 per unit) applied to the stored carbon."""
    if p.equivalents_per_million:
        return {k: v / 1000.0 for k, v in p.equivalents_per_million.items()}
    if p.carbon_g is None:
        return {}
    return {k: p.carbon_g * 1000.0 / factor for k, (factor, _what) in factors.items()}


# ----------------------------------------------------------------------------- paired accuracy changes


@dataclass(frozen=True)
class AccuracyChangeRow:
    device: str
    model: str
    input_size: float | None
    resize: str | None
    baseline: str
    candidate: str
    metric: str
    baseline_accuracy: float | None
    candidate_accuracy: float | None
    delta: float  # shown units (percentage points for a fraction)
    changed_predictions: int | None
    samples: int | None
    mcnemar_p: float | None
    significant: bool | None


def accuracy_changes_table(data: ReportData, flags: FlagMap) -> Table[AccuracyChangeRow]:
    cols: list[Column[AccuracyChangeRow]] = [
        Column("device", "Device", nowrap=True),
        Column("model", "Model", nowrap=True),
        Column("input_size", "Input size", numeric=True, fmt=input_size_text),
        Column("resize", "Resize"),
        Column("baseline", "Baseline"),
        Column("candidate", "Candidate"),
        Column("metric", "Metric", nowrap=True),
        Column("baseline_accuracy", "Baseline accuracy", numeric=True, fmt=_acc_text),
        Column("candidate_accuracy", "Candidate accuracy", numeric=True, fmt=_acc_text),
        Column("delta", "Change", numeric=True, fmt=lambda v: f"{v:+.2f}",
               help="candidate minus baseline (percentage points for top-1, top-5, Dice, IoU)"),
        Column("changed_predictions", "Changed predictions", numeric=True),
        Column("samples", "n", numeric=True),
        Column("mcnemar_p", "McNemar p", numeric=True, fmt=fmt_p, help="exact two-sided McNemar test"),
        Column("significant", "Significant", help=f"McNemar p < {ALPHA}"),
    ]
    seen: set[tuple] = set()
    metrics: set[str] = set()
    rows = []
    for cv in sorted(data.comparisons, key=lambda cv: (cv.comparison.model.lower(), -(cv.comparison.input_size or 0.0),
                                            _resize(cv) or "", backend_order(cv.comparison.candidate_backend),
                                            cv.device.label, cv.comparison.batch_size)):
        c = cv.comparison
        if c.accuracy_delta is None:  # no paired accuracy for this comparison
            continue
        key = (id(cv.device), c.model, c.input_size, _resize(cv), c.baseline_backend, c.candidate_backend)
        if key in seen:  # one dataset pass, several batch sizes: one row
            continue
        seen.add(key)
        base_acc = cv.baseline.case.accuracy if cv.baseline else None
        cand_acc = cv.candidate.case.accuracy if cv.candidate else None
        acc = cand_acc or base_acc
        metric = acc.metric if acc else ""
        metrics.add(metric)
        fl = [f for e in (cv.baseline, cv.candidate) if e is not None for f in flags.get(e.uid, [])
              if f.kind == "parity_failed"]
        rows.append(Row(AccuracyChangeRow(
            device=cv.device.label, model=c.model, input_size=c.input_size, resize=_resize(cv),
            baseline=c.baseline_backend, candidate=c.candidate_backend, metric=metric_label(metric),
            baseline_accuracy=shown(metric, base_acc.value) if base_acc else None,
            candidate_accuracy=shown(metric, cand_acc.value) if cand_acc else None,
            delta=shown(metric, c.accuracy_delta), changed_predictions=c.changed_predictions,
            samples=acc.samples if acc else None,
            mcnemar_p=c.mcnemar_p, significant=None if c.mcnemar_p is None else c.mcnemar_p < ALPHA,
        ), flags=fl, links={"candidate": f"#{cv.candidate.uid}"} if cv.candidate else {}))
    unit = "percentage points" if metrics and all(is_fraction(m) for m in metrics) else "the metric's unit"
    return Table("study-accuracy-changes", "Paired accuracy changes", cols, rows,
                 caption=f"Each backend against {rows[0].data.baseline if rows else 'eager'} on the same samples: the "
                         f"change in accuracy ({unit}), how many top-1 predictions changed, and the exact McNemar test "
                         f"of the disagreements; significant at p < {ALPHA}.")


def _resize(cv: ComparisonView) -> str | None:
    e = cv.candidate or cv.baseline
    return e.spec.resize if e is not None else None


# ----------------------------------------------------------------------------- the section


@dataclass
class StudyTables:
    study: StudyData
    points: Table[StudyRow]
    carbon: Table[CarbonRow]
    changes: Table[AccuracyChangeRow]

    def tables(self) -> list[Table]:
        return [self.points, self.carbon, self.changes]


def study_tables(data: ReportData, flags: FlagMap) -> StudyTables | None:
    """The section's tables; None when no case carries an accuracy (the section is left out)."""
    study = study_points(data)
    if study is None:
        return None
    return StudyTables(study=study, points=study_table(study, flags), carbon=carbon_table(study, flags),
                       changes=accuracy_changes_table(data, flags))


def study_markdown(tables: StudyTables, figures: list, fig_links: dict[str, tuple[str, str]]) -> list[str]:
    """The section for report.md: its figures (PNG links) and tables."""
    out = ["## Accuracy vs efficiency", "", md_escape(study_intro(tables.study)), ""]
    for f in figures:
        png = fig_links.get(f.id, (None, None))[0]
        if png:
            out += [f"### {md_escape(f.title)}", "", f"![{md_escape(f.title)}]({png})", "", md_escape(f.caption), ""]
    out += [t.to_markdown(3) for t in tables.tables()]
    return out


def study_intro(study: StudyData) -> str:
    n = len(study.points)
    tasks = "; ".join(f"{metric_label(m)} on {d}" for d, m in study.tasks)
    return (f"{n} point{'s' if n != 1 else ''} (device, model, input size, resize method, backend) with an accuracy "
            f"({tasks}) on {len(study.devices)} device{'s' if len(study.devices) != 1 else ''}. "
            f"Latency per example: {study.latency_source_text()}.")
