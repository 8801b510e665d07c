"""The accuracy-vs-efficiency study (Lab 2, questions 8, 11-13): which cases make the study's
points, what each point's numbers are, and which points are on the Pareto front.

A point is one (device, model, backend, input size, resize method) that carries an accuracy.
Cases of several batch sizes share one dataset pass (`AccuracyResult.evaluated_in`), so they
make one point; its latency and energy come from one case of the group, batch 1 when it ran,
else the smallest batch, always per example (the batch's figure divided by its size).

Pure: no drawing, no formatting; the tables and figures read `StudyData`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import overload

from suite.report.backend_style import backend_order
from suite.report.merge import Device, Entry, ReportData

# Metrics stored as fractions in [0, 1] (suite.metrics.accuracy); shown as percentages. Any
# other name (a v1 file's "top-1 %", a model file's evaluate()) is shown as stored.
FRACTION_METRICS = ("top-1", "top-5", "dice", "iou")
# The section's figures (suite.report.figures.accuracy_vs_cost), shown in the section rather than under Figures.
FIGURE_IDS = ("study-flops-accuracy", "study-latency-accuracy", "study-flops-latency", "study-pareto")
J_PER_KWH = 3.6e6
G_PER_KG = 1000.0


def is_fraction(metric: str) -> bool:
    return metric in FRACTION_METRICS


@overload
def shown(metric: str, value: float) -> float: ...
@overload
def shown(metric: str, value: None) -> None: ...


def shown(metric: str, value: float | None) -> float | None:
    """A stored metric value as the report shows it: fractions as percentages, others as stored."""
    if value is None:
        return None
    return value * 100.0 if is_fraction(metric) else value


def metric_label(metric: str) -> str:
    """"top-1 (%)" for a known fraction; the stored name otherwise."""
    return f"{metric} (%)" if is_fraction(metric) else metric


def j_to_kwh(j: float | None) -> float | None:
    return None if j is None else j / J_PER_KWH


def g_to_kg(g: float | None) -> float | None:
    return None if g is None else g / G_PER_KG


# ----------------------------------------------------------------------------- the Pareto front


def pareto_front(points: Sequence[tuple[float, float]], *, higher_is_better: bool = True) -> list[bool]:
    """For (quality, cost) pairs: whether each is on the front. Cost is minimised; quality is
    maximised (or minimised when `higher_is_better` is False). A point is on the front iff no
    other point is at least as good on both and strictly better on one: equal points (duplicates)
    do not dominate each other, so all of them stay on the front."""
    sign = 1.0 if higher_is_better else -1.0
    q = [sign * p[0] for p in points]
    c = [p[1] for p in points]
    out = []
    for i in range(len(points)):
        dominated = any(q[j] >= q[i] and c[j] <= c[i] and (q[j] > q[i] or c[j] < c[i])
                        for j in range(len(points)) if j != i)
        out.append(not dominated)
    return out


# ----------------------------------------------------------------------------- points


@dataclass(eq=False)
class StudyPoint:
    device: Device
    model: str
    backend: str
    size_axis: str | None
    input_size: float | None
    resize: str | None
    dataset: str
    metric: str  # as stored
    higher_is_better: bool
    accuracy: float  # shown units (percent for a known fraction)
    accuracy_ci: tuple[float, float] | None  # shown units
    samples: int | None
    params: int | None
    flops_per_item: int | None
    latency_ms: float | None  # per example: the case's median / its batch size
    latency_ci_ms: tuple[float, float] | None
    latency_batch: int | None  # the batch size the latency (and energy) come from
    per_example_ms: float | None  # model time per example over the dataset pass
    energy_j: float | None  # per example: net of idle when known, else gross
    energy_basis: str | None  # "net" | "gross"
    energy_method: str | None  # counter | sampled | estimated
    carbon_g: float | None  # per example, from the stored carbon (gross energy x grid intensity)
    equivalents_per_million: dict[str, float]  # per million examples (CarbonResult.equivalents)
    accuracy_entry: Entry  # the case holding the accuracy shown
    entry: Entry | None  # the case the latency and energy come from
    status: str  # of that case (or of the accuracy case)
    on_latency_front: bool = False
    on_energy_front: bool = False

    @property
    def task(self) -> tuple[str, str]:
        """Points are comparable only on one dataset and metric."""
        return (self.dataset, self.metric)

    @property
    def uid(self) -> str:
        return (self.entry or self.accuracy_entry).uid


@dataclass
class StudyData:
    points: list[StudyPoint]
    devices: list[Device]
    tasks: list[tuple[str, str]]  # (dataset, metric), most points first
    latency_batches: list[int] = field(default_factory=list)  # the batch sizes latencies came from

    def panels(self) -> list[tuple[tuple[str, str], Device, list[StudyPoint]]]:
        """(task, device, its points) for every pair that has points: one figure panel each."""
        out = []
        for task in self.tasks:
            for d in self.devices:
                pts = [p for p in self.points if p.task == task and p.device is d]
                if pts:
                    out.append((task, d, pts))
        return out

    def latency_source_text(self) -> str:
        if not self.latency_batches or self.latency_batches == [1]:
            return "median latency of the batch-1 case"
        return ("median latency per example of the batch-1 case where one ran, else of the smallest batch "
                f"(batches used: {', '.join(str(b) for b in self.latency_batches)})")


GroupKey = tuple[int, str, str, str | None, float | None, str | None, str, int]


def _group_key(e: Entry) -> GroupKey:
    s = e.spec
    return (id(e.device), s.model, s.backend, s.size_axis, s.input_size, s.resize, s.dtype, s.threads)


def study_points(data: ReportData) -> StudyData | None:
    """The study's points (None when no case carries an accuracy: no section then)."""
    if not any(e.case.accuracy is not None for e in data.entries):
        return None
    groups: dict[GroupKey, list[Entry]] = {}
    for e in sorted(data.entries, key=lambda e: e.run.run.created_at, reverse=True):  # newest first
        groups.setdefault(_group_key(e), []).append(e)
    points = [p for es in groups.values() if (p := _point(es)) is not None]
    points.sort(key=lambda p: (p.model.lower(), p.model, -(p.input_size or 0.0), p.resize or "",
                               backend_order(p.backend), p.device.label))
    counts: dict[tuple[str, str], int] = {}
    for p in points:
        counts[p.task] = counts.get(p.task, 0) + 1
    tasks = sorted(counts, key=lambda t: (-counts[t], t))
    devices = [d for d in data.devices if any(p.device is d for p in points)]
    _mark_fronts(points)
    batches = sorted({p.latency_batch for p in points if p.latency_batch is not None})
    return StudyData(points=points, devices=devices, tasks=tasks, latency_batches=batches)


def _point(entries: list[Entry]) -> StudyPoint | None:
    with_acc = [(e, a) for e in entries if (a := e.case.accuracy) is not None]
    if not with_acc:
        return None
    # The case that ran the dataset pass; a linked copy (evaluated_in set) only when it is absent.
    acc_entry, acc = next(((e, a) for e, a in with_acc if a.evaluated_in is None), with_acc[0])
    timed = [e for e in entries if e.has_latency and e.status in ("ok", "parity_failed")]
    entry = min(timed, key=lambda e: e.spec.batch_size) if timed else None  # newest run first: min keeps it
    src = entry or acc_entry
    c = src.case
    batch = src.spec.batch_size
    latency = latency_ci = energy = carbon = None
    basis = method = None
    equivalents: dict[str, float] = {}
    if entry is not None and (s := entry.summary) is not None:  # always: a timed entry has a summary
        latency = s.median_ms / batch
        latency_ci = (s.median_ci_low_ms / batch, s.median_ci_high_ms / batch)
        if c.energy is not None:
            en = c.energy
            basis = "net" if en.net_j_per_item is not None else "gross"
            energy = en.net_j_per_item if en.net_j_per_item is not None else en.gross_j_per_item
            method = en.method
        if c.carbon is not None:
            carbon = c.carbon.g_per_inference / batch
            equivalents = {k: v / batch for k, v in c.carbon.equivalents.items()}
    ci = (shown(acc.metric, acc.ci_low), shown(acc.metric, acc.ci_high)) \
        if acc.ci_low is not None and acc.ci_high is not None else None
    params = next((e.case.params.unique for e in entries if e.case.params is not None), None)
    flops = next((e.case.flops.flops_per_item for e in entries if e.case.flops is not None), None)
    spec = acc_entry.spec
    return StudyPoint(
        device=acc_entry.device, model=spec.model, backend=spec.backend, size_axis=spec.size_axis,
        input_size=spec.input_size, resize=spec.resize if spec.resize is not None else acc.resize,
        dataset=acc.dataset, metric=acc.metric, higher_is_better=acc.higher_is_better,
        accuracy=shown(acc.metric, acc.value), accuracy_ci=ci, samples=acc.samples, params=params,
        flops_per_item=flops, latency_ms=latency, latency_ci_ms=latency_ci,
        latency_batch=batch if entry is not None else None, per_example_ms=acc.per_example_ms,
        energy_j=energy, energy_basis=basis, energy_method=method, carbon_g=carbon,
        equivalents_per_million=equivalents, accuracy_entry=acc_entry, entry=entry, status=src.status,
    )


def _mark_fronts(points: list[StudyPoint]) -> None:
    """Fronts per device and task. A case that failed the parity check is left off: its speed is
    that of a model that computes something else."""
    groups: dict[tuple[int, tuple[str, str]], list[StudyPoint]] = {}
    for p in points:
        if p.status != "parity_failed":
            groups.setdefault((id(p.device), p.task), []).append(p)
    for pts in groups.values():
        for cost, attr in (("latency_ms", "on_latency_front"), ("energy_j", "on_energy_front")):
            have = [p for p in pts if getattr(p, cost) is not None]
            flags = pareto_front([(p.accuracy, getattr(p, cost)) for p in have],
                                 higher_is_better=have[0].higher_is_better if have else True)
            for p, on in zip(have, flags):
                setattr(p, attr, on)
