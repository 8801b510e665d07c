"""Where the time went (`--profile`): per model and device x batch x size, the backends side by side
by operator family (eager's conv + batch norm + relu against ORT's fused convolutions), and every
profiled operator of every case in one flat table (CSV/Markdown)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import get_args

from suite.report.backend_style import backend_order
from suite.report.format import DASH, fmt_count, fmt_ms, fmt_size, slug
from suite.report.merge import Entry, ReportData
from suite.report.profile_explain import (
    fusion_explanation,
    non_gemm_explanation,
    roof_fraction,
)
from suite.report.table import Column, Row, Table, input_size_text, plain_text
from suite.results.schema import OpFamily, ProfileResult

FAMILIES: tuple[str, ...] = get_args(OpFamily)


@dataclass(frozen=True)
class BackendFamily:
    """One backend's operators of one family, per forward."""

    ops: str  # "aten::conv2d ×20, aten::linear ×1"
    calls: float
    time_ms: float
    share: float


@dataclass(frozen=True)
class FamilyRow:
    family: str
    cells: dict[str, BackendFamily]  # backend -> its operators of this family (absent: none ran)
    flops: int | None  # counted FLOPs per forward of this family (the reference backend's, else the first)
    fused_away: str | None  # "ort" when a backend ran this family's work inside other operators


@dataclass(frozen=True)
class Profiled:
    """A profiled case with its profile (the case's `profile`, known to be there)."""

    entry: Entry
    profile: ProfileResult

    @property
    def backend(self) -> str:
        return self.entry.backend


@dataclass
class ProfileGroup:
    """The profiled cases of one model on one device at one batch and size."""

    title: str
    anchor: str
    table: Table[FamilyRow]
    notes: list[str] = field(default_factory=list)  # the explanations the data supports


def _pct(x: float | None) -> str:
    return DASH if x is None else f"{x:.0%}" if x >= 0.01 or x == 0 else "<1%"


def _family_cell(case: Profiled, family: str) -> BackendFamily | None:
    ops = [o for o in case.profile.ops if o.family == family]
    if not ops:
        return None
    ops.sort(key=lambda o: (-o.time_ms, o.op))
    text = ", ".join(f"{o.op} \u00d7{o.calls:g}" for o in ops)
    return BackendFamily(ops=text, calls=sum(o.calls for o in ops), time_ms=sum(o.time_ms for o in ops),
                         share=sum(o.share for o in ops))


def _cell_get(backend: str, attr: str) -> Callable[[FamilyRow], object]:
    def get(row: FamilyRow) -> object:
        cell = row.cells.get(backend)
        return None if cell is None else getattr(cell, attr)
    return get


def side_by_side(entries: list[Profiled], name: str, title: str) -> Table[FamilyRow]:
    """One row per operator family; per backend its operators, time per forward and share."""
    backends = [e.backend for e in entries]
    rows = []
    reference = entries[0]
    for family in FAMILIES:
        cells = {e.backend: c for e in entries if (c := _family_cell(e, family)) is not None}
        if not cells:
            continue
        flops = None
        for e in entries:
            fl = [o.flops for o in e.profile.ops if o.family == family and o.flops is not None]
            if fl:
                flops = sum(fl)
                break
        fused = [e.backend for e in entries[1:] if family not in ("conv", "matmul/gemm", "other")
                 and reference.backend in cells and e.backend not in cells]
        rows.append(Row(FamilyRow(family=family, cells=cells, flops=flops, fused_away=", ".join(fused) or None)))
    cols: list[Column[FamilyRow]] = [Column("family", "Operator family")]
    groups = [("", 1)]
    for b in backends:
        cols += [
            Column(f"{b}_ops", "operators (calls per forward)", get=_cell_get(b, "ops")),
            Column(f"{b}_time_ms", "time", "ms", numeric=True, fmt=fmt_ms, get=_cell_get(b, "time_ms")),
            Column(f"{b}_share", "share", numeric=True, fmt=_pct, get=_cell_get(b, "share")),
        ]
        groups.append((b, 3))
    cols += [Column("flops", "FLOPs", numeric=True, fmt=fmt_count, help="counted FLOPs per forward of this family"),
             Column("fused_away", "fused away in", help="backends that run no separate operator of this family: "
                    "its work is folded into their other operators")]
    groups.append(("", 2))
    totals = ", ".join(f"{e.backend} {fmt_ms(e.profile.op_time_ms)} ms of operators in "
                       f"{fmt_ms(e.profile.wall_ms)} ms per call ({e.profile.profiler}, "
                       f"{e.profile.time_kind} time, {e.profile.calls} calls profiled in "
                       f"{e.profile.window_s:.2g} s)" for e in entries)
    return Table(name=name, title=title, columns=cols, rows=rows, caption=f"Per forward pass: {totals}.",
                 groups=groups)


def profile_groups(entries: list[Entry], model_anchor: str) -> list[ProfileGroup]:
    """The side-by-side tables of one model's profiled cases, one per device x batch x size x resize."""
    profiled = [Profiled(e, e.case.profile) for e in entries if e.case.profile is not None]
    keys: dict[tuple[str, int, float | None, str | None], list[Profiled]] = {}
    for p in profiled:
        s = p.entry.spec
        keys.setdefault((p.entry.device.label, s.batch_size, s.input_size, s.resize), []).append(p)
    out = []
    for (device, batch, size, resize), group in keys.items():
        group.sort(key=lambda p: (backend_order(p.backend), p.entry.uid))
        seen: dict[str, Profiled] = {}
        for p in group:  # one case per backend (the newest run's when several runs hold it)
            seen[p.backend] = p
        group = list(seen.values())
        s = group[0].entry.spec
        size_text = f" \u00b7 {fmt_size(s.size_axis, size)}" if size is not None else ""
        title = f"Where the time went: {group[0].entry.model} on {device}, batch {batch}{size_text}" + \
            (f" \u00b7 {resize}" if resize else "")
        anchor = slug(f"{model_anchor}-{device}-{batch}-{size}-{resize}", "profile-")
        notes = []
        for p in group:
            text = non_gemm_explanation(p.profile, roof_fraction(p.entry.case))
            if text:
                notes.append(f"{p.backend}: {text}")
        for p in group[1:]:
            text = fusion_explanation(group[0].profile, p.profile, group[0].backend, p.backend)
            if text:
                notes.append(text)
        out.append(ProfileGroup(title=title, anchor=anchor, notes=notes,
                                table=side_by_side(group, name=anchor, title=title)))
    return out


@dataclass(frozen=True)
class OpRow:
    model: str
    device: str
    backend: str
    batch_size: int
    input_size: float | None
    profiler: str
    time_kind: str
    op: str
    family: str
    calls: float
    time_ms: float
    share: float
    flops: int | None


def profile_ops_table(data: ReportData) -> Table[OpRow] | None:
    """Every profiled operator of every case (None when no case was profiled)."""
    rows = []
    for e in data.entries:
        p = e.case.profile
        if p is None:
            continue
        for o in p.ops:
            rows.append(Row(OpRow(model=e.model, device=e.device.label, backend=e.backend,
                                  batch_size=e.spec.batch_size, input_size=e.spec.input_size, profiler=p.profiler,
                                  time_kind=p.time_kind, op=o.op, family=o.family, calls=o.calls, time_ms=o.time_ms,
                                  share=o.share, flops=o.flops)))
    if not rows:
        return None
    cols: list[Column[OpRow]] = [
        Column("model", "Model"), Column("device", "Device"), Column("backend", "Backend"),
        Column("batch_size", "Batch", numeric=True), Column("input_size", "Size", numeric=True, fmt=input_size_text),
        Column("profiler", "Profiler"), Column("time_kind", "Time"), Column("op", "Operator"),
        Column("family", "Family"), Column("calls", "Calls / forward", numeric=True, fmt=plain_text),
        Column("time_ms", "Time / forward", "ms", numeric=True, fmt=fmt_ms),
        Column("share", "Share", numeric=True, fmt=_pct), Column("flops", "FLOPs", numeric=True, fmt=fmt_count),
    ]
    return Table(name="profile-operators", title="Profiled operators",
                 caption="Every operator of every profiled case (--profile), per forward pass.", columns=cols,
                 rows=rows)


@dataclass(frozen=True)
class NodeRow:
    model: str
    device: str
    backend: str
    batch_size: int
    input_size: float | None
    rank: int
    node: str
    op: str
    time_ms: float


def profile_nodes_table(data: ReportData) -> Table[NodeRow] | None:
    """The slowest nodes (ORT) and call sites (eager: operator, its place in the forward, first input
    shape) of every profiled case (None when no case was profiled)."""
    rows = [Row(NodeRow(model=e.model, device=e.device.label, backend=e.backend, batch_size=e.spec.batch_size,
                        input_size=e.spec.input_size, rank=i, node=n.name, op=n.op, time_ms=n.time_ms))
            for e in data.entries if e.case.profile is not None
            for i, n in enumerate(e.case.profile.top_nodes, start=1)]
    if not rows:
        return None
    cols: list[Column[NodeRow]] = [
        Column("model", "Model"), Column("device", "Device"), Column("backend", "Backend"),
        Column("batch_size", "Batch", numeric=True), Column("input_size", "Size", numeric=True, fmt=input_size_text),
        Column("rank", "Rank", numeric=True), Column("node", "Node / call site"), Column("op", "Operator"),
        Column("time_ms", "Time / forward", "ms", numeric=True, fmt=fmt_ms),
    ]
    return Table(name="profile-nodes", title="Slowest profiled nodes",
                 caption="Per profiled case, its slowest nodes (ORT) or call sites (eager), per forward pass.",
                 columns=cols, rows=rows)
