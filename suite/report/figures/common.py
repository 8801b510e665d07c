"""What every figure shares: the output record, the figure list's record, the drawing context,
and the selections of entries the figures plot."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from suite.report.backend_style import backend_order
from suite.report.badges import Flag
from suite.report.format import fmt_num
from suite.report.merge import Device, Entry, ModelInfo, ReportData


@dataclass(frozen=True)
class FigureOut:
    id: str  # file stem, also the HTML id
    title: str
    caption: str
    svg: bytes
    png: bytes
    width_in: float = 0.0
    height_in: float = 0.0


@dataclass(frozen=True)
class FigureSpec:
    """One entry of the figure list (suite.report.figures.FIGURES)."""

    name: str  # the figure's id (file stem) when it is drawn
    make: Callable[[Ctx], FigureOut | None]  # None: the data has nothing for this figure
    cost: int  # relative drawing time, to hand the expensive figures to workers first


@dataclass
class Ctx:
    """What the figures draw from; forked workers inherit it (it is never pickled)."""

    data: ReportData
    flags: dict[str, list[Flag]]
    colours: dict[int, str]
    first_n: int

    def colour(self, d: Device) -> str:
        return self.colours[id(d)]

    def severity(self, e: Entry, kinds: Iterable[str] | None = None) -> str | None:
        fl = [f for f in self.flags.get(e.uid, []) if kinds is None or f.kind in kinds]
        if any(f.severity == "bad" for f in fl):
            return "bad"
        return "warn" if fl else None


def timed(entries: Iterable[Entry]) -> list[Entry]:
    return [e for e in entries if e.has_latency]


def model_series(model: ModelInfo, *, size: float | None = None,
                 batch: int | None = None) -> dict[tuple[int, str], tuple[Device, str, list[Entry]]]:
    """(device, backend) -> entries with timings, one per x value (the newest run wins)."""
    out: dict[tuple[int, str], tuple[Device, str, dict[float | None, Entry]]] = {}
    for e in sorted(timed(model.entries), key=lambda e: e.run.run.created_at):
        if size is not None and e.spec.input_size != size:
            continue
        if batch is not None and e.spec.batch_size != batch:
            continue
        x = e.spec.batch_size if batch is None else e.spec.input_size
        slot = out.setdefault((id(e.device), e.backend), (e.device, e.backend, {}))
        slot[2][x] = e
    res = {}
    for k, (d, b, by_x) in sorted(out.items(), key=lambda kv: (kv[1][0].label, backend_order(kv[1][1]))):
        res[k] = (d, b, [by_x[x] for x in sorted(by_x, key=lambda x: -1.0 if x is None else x)])  # None: no size
    return res


def size_text(model: ModelInfo, size: float | None) -> str:
    if size is None:
        return ""
    v = fmt_num(size)
    return f" ({model.size_axis}={v})" if model.size_axis else f" (size {v})"


def devices_of(ctx: Ctx, entries: list[Entry]) -> list[Device]:
    ids = {id(e.device) for e in entries}
    return [d for d in ctx.data.devices if id(d) in ids]
