"""Figures for the report, drawn with matplotlib (Agg, no pyplot state) from merged results.

Each figure comes back as SVG and PNG bytes: the HTML inlines the SVG (as a data: image, so
nothing in it can run) and the PNG/SVG files are written beside the HTML for lab write-ups.
Per-model figures are small multiples (one panel per model, one line per device and backend)
so that the number of figures, and the render time, does not grow with the number of models.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from suite.report.backends import BASELINE_BACKEND, backend_order, backend_style
from suite.report.flags import Flag
from suite.report.format import fmt_num
from suite.report.merge import Device, Entry, ModelInfo, ReportData

FIRST_N_ITERATIONS = 20
PNG_DPI = 120

# Okabe-Ito: distinguishable with the common colour-vision deficiencies (yellow left out: too
# light on white).
DEVICE_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000"]
FLAG_RING = {"bad": "#C0392B", "warn": "#B7791F"}

_RC = {
    "svg.fonttype": "none",  # text stays text: smaller files, searchable, crisp at any zoom
    "svg.hashsalt": "bench-report",  # stable ids: the same results give byte-identical SVG
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Liberation Sans", "Arial", "Helvetica"],
    "font.size": 8.5,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    # A fixed title height: left to itself matplotlib measures every tick label of every panel
    # to lift titles clear of top ticks there are none of (a third of the drawing time).
    "axes.titley": 1.0,
    "axes.labelsize": 8.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e3e6ea",
    "grid.linewidth": 0.6,
    "legend.fontsize": 8,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "lines.linewidth": 1.4,
    "lines.markersize": 4.5,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


@dataclass(frozen=True)
class FigureOut:
    id: str  # file stem, also the HTML id
    title: str
    caption: str
    svg: bytes
    png: bytes
    width_in: float = 0.0
    height_in: float = 0.0


def build_figures(data: ReportData, flags: dict[str, list[Flag]], *,
                  first_n: int = FIRST_N_ITERATIONS, workers: int | None = None) -> list[FigureOut]:
    """All figures the data supports (a figure with nothing to show is left out), in a fixed
    order. Figures are independent, and drawing is nearly all of a large report's render time,
    so they are drawn in forked processes when there are cores to spare (`workers`, default: the
    usable cores, at most 4) and fork is safe; the result is the same either way."""
    import matplotlib

    matplotlib.use("Agg", force=False)

    colours = {id(d): DEVICE_COLOURS[i % len(DEVICE_COLOURS)] for i, d in enumerate(data.devices)}
    ctx = _Ctx(data, flags, colours, first_n)
    n = _usable_cores() if workers is None else workers
    figs = _draw_forked(ctx, min(n, 4)) if n > 1 and _fork_is_safe() else None
    if figs is None:
        figs = [_draw(i, ctx) for i in range(len(_MAKERS))]
    return [f for f in figs if f is not None]


def _draw(index: int, ctx: _Ctx | None = None) -> FigureOut | None:
    from matplotlib import rc_context

    with rc_context(_RC):
        return _MAKERS[index](ctx if ctx is not None else _FORKED_CTX)


_FORKED_CTX: _Ctx | None = None  # what forked workers draw from (inherited, never pickled)


def _draw_forked(ctx: _Ctx, workers: int) -> list[FigureOut | None] | None:
    """The figures drawn by `workers` forked processes, most expensive first so that the cores
    stay busy; None where a pool cannot be had (the caller then draws them here)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    global _FORKED_CTX
    _FORKED_CTX = ctx
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            futures = {i: pool.submit(_draw, i) for i in sorted(range(len(_MAKERS)), key=_COST.__getitem__,
                                                                   reverse=True)}
            return [futures[i].result() for i in range(len(_MAKERS))]
    except (OSError, BrokenProcessPool):
        return None
    finally:
        _FORKED_CTX = None


def _usable_cores() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))  # a container's CPU set, not the host's
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _fork_is_safe() -> bool:
    """Fork only a process with no other threads (a lock held by one would never be released in
    the child) and no torch loaded (its thread pools do not survive a fork): in `bench report`,
    not at the end of a `bench run` with progress and monitor threads."""
    import multiprocessing
    import sys
    import threading

    return ("fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
            and "torch" not in sys.modules)


# ----------------------------------------------------------------------------- helpers


@dataclass
class _Ctx:
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


def _timed(entries: Iterable[Entry]) -> list[Entry]:
    return [e for e in entries if e.has_latency]


def _series(model: ModelInfo, *, size=None, batch=None) -> dict[tuple[int, str], tuple[Device, str, list[Entry]]]:
    """(device, backend) -> entries with timings, one per x value (the newest run wins)."""
    out: dict[tuple[int, str], tuple[Device, str, dict]] = {}
    for e in sorted(_timed(model.entries), key=lambda e: e.run.run.created_at):
        if size is not None and e.spec.input_size != size:
            continue
        if batch is not None and e.spec.batch_size != batch:
            continue
        x = e.spec.batch_size if batch is None else e.spec.input_size
        slot = out.setdefault((id(e.device), e.backend), (e.device, e.backend, {}))
        slot[2][x] = e
    res = {}
    for k, (d, b, by_x) in sorted(out.items(), key=lambda kv: (kv[1][0].label, backend_order(kv[1][1]))):
        res[k] = (d, b, [by_x[x] for x in sorted(by_x)])
    return res


class _Panels:
    """A grid of axes with a fixed layout computed in inches: constrained layout re-measures
    every tick label on every save and costs more than drawing the data."""

    def __init__(self, n: int, *, ncols: int = 3, w: float = 3.3, h: float = 2.5, left: float = 0.62,
                 wgap: float = 0.78, hgap: float = 0.72, titles: bool = True):
        from matplotlib.figure import Figure

        self.title_space = 0.3 if titles else 0.08  # inches above the axes for their titles
        self.ncols = max(1, min(ncols, n))
        self.nrows = math.ceil(n / self.ncols)
        self.w, self.h, self.left, self.wgap, self.hgap = w, h, left, wgap, hgap
        self.fig = Figure(figsize=(w * self.ncols, h * self.nrows))
        grid = self.fig.subplots(self.nrows, self.ncols, squeeze=False)
        flat = [ax for row in grid for ax in row]
        for ax in flat[n:]:
            ax.set_visible(False)
        self.axes = flat[:n]

    def outer_labels(self, xlabel: str, ylabel: str) -> None:
        """Axis titles on the outer panels only: less to read, and text is most of the drawing time."""
        n = len(self.axes)
        for i, ax in enumerate(self.axes):
            if xlabel and i + self.ncols >= n:  # nothing below it
                ax.set_xlabel(xlabel)
            if ylabel and i % self.ncols == 0:
                ax.set_ylabel(ylabel)

    def layout(self, legend_rows: int) -> None:
        right, bottom, title = 0.15, 0.48, self.title_space
        top = title + (0.2 * legend_rows + 0.12 if legend_rows else 0.0)
        width = self.w * self.ncols
        height = self.h * self.nrows + top - title
        self.fig.set_size_inches(width, height)
        ax_w = (width - self.left - right - (self.ncols - 1) * self.wgap) / self.ncols
        ax_h = (height - top - bottom - (self.nrows - 1) * self.hgap) / self.nrows
        self.fig.subplots_adjust(left=self.left / width, right=1 - right / width, bottom=bottom / height,
                                 top=1 - top / height, wspace=self.wgap / ax_w, hspace=self.hgap / ax_h)


def _grid(n: int, *, ncols: int = 3, w: float = 3.3, h: float = 2.5, left: float = 0.62) -> _Panels:
    return _Panels(n, ncols=ncols, w=w, h=h, left=left)


def _legend(panels: _Panels, ctx: _Ctx, backends: Iterable[str], *, rings: set[str] = frozenset(),
            hollow: bool = False, devices: Iterable[Device] | None = None) -> None:
    from matplotlib.lines import Line2D

    handles, labels = [], []
    for d in devices if devices is not None else ctx.data.devices:
        handles.append(Line2D([], [], color=ctx.colour(d), lw=6))
        labels.append(_t(d.label))
    for b in sorted(set(backends), key=backend_order):
        ls, mk = backend_style(b)
        handles.append(Line2D([], [], color="#444", ls=ls, marker=mk))
        labels.append(_t(b))
    if hollow:
        handles.append(Line2D([], [], color="#444", ls="", marker="o", mfc="white"))
        labels.append("estimated energy (hollow)")
    if "bad" in rings:
        handles.append(Line2D([], [], color=FLAG_RING["bad"], ls="", marker="o", mfc="none", ms=9, mew=1.6))
        labels.append("parity failed: do not compare")
    if "warn" in rings:
        handles.append(Line2D([], [], color=FLAG_RING["warn"], ls="", marker="o", mfc="none", ms=9, mew=1.6))
        labels.append("flagged (see table)")
    # Columns that fit the width: about 0.065 in per character at legend size, plus the marker.
    width = panels.w * panels.ncols
    longest = max((len(x) for x in labels), default=10)
    ncols = max(1, min(len(handles), int(width / (0.5 + 0.065 * longest))))
    rows = math.ceil(len(handles) / ncols) if handles else 0
    panels.layout(rows)
    if handles:
        # matplotlib fills legend columns first; reorder so that it reads left to right.
        order = [r * ncols + c for c in range(ncols) for r in range(rows) if r * ncols + c < len(handles)]
        handles, labels = [handles[i] for i in order], [labels[i] for i in order]
        panels.fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 1.0), ncols=ncols,
                          frameon=False, borderaxespad=0.3, handlelength=2.2, columnspacing=1.4)


class _Rings:
    """Flag rings around points, drawn with one artist per severity and axes (cheap to save)."""

    def __init__(self) -> None:
        self.points: dict[tuple[int, str], tuple[object, list[float], list[float]]] = {}
        self.seen: set[str] = set()

    def add(self, ax, x: float, y: float, severity: str | None) -> None:
        if severity is None:
            return
        self.seen.add(severity)
        slot = self.points.setdefault((id(ax), severity), (ax, [], []))
        slot[1].append(x)
        slot[2].append(y)

    def draw(self) -> None:
        for (_, sev), (ax, xs, ys) in self.points.items():
            ax.plot(xs, ys, ls="", marker="o", ms=10, mfc="none", mec=FLAG_RING[sev], mew=1.6, zorder=5)


def _line_ci(ax, xs, ys, lo, hi, *, colour: str, backend: str, alpha: float = 1.0) -> None:
    """A line with markers and the median's CI as thin vertical bars (one collection, no caps)."""
    ls, mk = backend_style(backend)
    ax.plot(xs, ys, color=colour, ls=ls, marker=mk, alpha=alpha)
    ax.vlines(xs, lo, hi, colors=colour, lw=1.0, alpha=0.8 * alpha)


def _title(model: ModelInfo, extra: str = "") -> str:
    name = model.name if len(model.name) <= 38 else model.name[:36] + "\u2026"
    return _t(f"{name}{extra}")


def _log_if_wide(ax, values: list[float], axis: str = "y", ratio: float = 20.0) -> None:
    vals = [v for v in values if v and v > 0]
    if vals and max(vals) / min(vals) > ratio:
        _log_axis(ax, axis, min(vals), max(vals))


def _log_axis(ax, axis: str, lo: float, hi: float) -> None:
    """Log scale with plain-number ticks (1, 2, 5 x 10^k): students read "200 ms", not 2x10^2."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator

    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    decades = math.log10(hi / lo) if lo > 0 and hi > 0 else 3
    subs = (1.0, 2.0, 5.0) if decades <= 2.5 else (1.0,)
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_locator(LogLocator(base=10, subs=subs))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: _plain(v)))
    # No minor ticks: unlabelled, they cost as much to lay out as labelled ones, twice per figure.
    target.set_minor_locator(NullLocator())


def _plain(v: float) -> str:
    if v >= 1e4 or v < 1e-3:
        from suite.report.format import fmt_si

        return fmt_si(v, "", 2).replace(" ", "")
    return f"{v:g}"


def _t(text: str) -> str:
    """User text (model and device names) for matplotlib: a '$' must not start mathtext."""
    return text.replace("$", r"\$")


def _finish(panels: _Panels, fid: str, title: str, caption: str) -> FigureOut:
    fig = panels.fig
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    w, h = fig.get_size_inches()
    return FigureOut(id=fid, title=title, caption=caption, svg=svg.getvalue(), png=png.getvalue(),
                     width_in=float(w), height_in=float(h))


def _size_text(model: ModelInfo, size) -> str:
    if size is None:
        return ""
    v = fmt_num(size)
    return f" ({model.size_axis}={v})" if model.size_axis else f" (size {v})"


_SCALING_FLAGS = {"parity_failed", "non_monotonic", "throttling"}


# ----------------------------------------------------------------------------- per-model figures


def _sweep_figure(ctx: _Ctx, fid: str, title: str, caption: str, *, over: str,
                  per_item: bool = False) -> FigureOut | None:
    """Median latency (with its CI) as the batch size or the input size grows: one panel per model
    that ran at two or more of them, one line per device and backend, the other axis held at the
    model's reference value."""
    by_batch = over == "batch"

    def x_of(e: Entry) -> float:
        return e.spec.batch_size if by_batch else e.spec.input_size

    models = [m for m in ctx.data.models if len({x_of(e) for e in _timed(m.entries)}) >= 2]
    if not models:
        return None
    panels = _grid(len(models))
    rings = _Rings()
    backends = set()
    for ax, m in zip(panels.axes, models):
        series = _series(m, size=m.reference_size) if by_batch else _series(m, batch=m.reference_batch)
        ys_all = []
        for d, b, es in series.values():
            backends.add(b)
            k = [e.spec.batch_size if per_item else 1 for e in es]
            xs = [x_of(e) for e in es]
            ys = [e.median_ms / n for e, n in zip(es, k)]
            _line_ci(ax, xs, ys, [e.summary.median_ci_low_ms / n for e, n in zip(es, k)],
                     [e.summary.median_ci_high_ms / n for e, n in zip(es, k)], colour=ctx.colour(d), backend=b,
                     alpha=0.45 if any(e.status == "parity_failed" for e in es) else 1.0)
            ys_all += ys
            for e, x, y in zip(es, xs, ys):
                rings.add(ax, x, y, ctx.severity(e, _SCALING_FLAGS))
        _log_if_wide(ax, ys_all)
        if by_batch:
            ax.set_xscale("log", base=2)
            ax.set_xticks(m.batches, [str(b) for b in m.batches])
            ax.minorticks_off()
            ax.set_title(_title(m, _size_text(m, m.reference_size)), loc="left")
        else:
            ax.set_title(_title(m, f" (batch {m.reference_batch})"), loc="left")
            ax.set_xlabel(_t(m.size_axis or "input size"))  # resolution, seq_len...: per model
    rings.draw()
    ylabel = "ms per item" if per_item else "median latency (ms)"
    panels.outer_labels("batch size" if by_batch else "", ylabel)
    _legend(panels, ctx, backends, rings=rings.seen)
    return _finish(panels, fid, title, caption)


def _latency_vs_batch(ctx: _Ctx) -> FigureOut | None:
    return _sweep_figure(
        ctx, "latency-vs-batch", "Latency vs batch size",
        "Median latency of one batch with its 95% confidence interval (vertical bar), per device (colour) and "
        "backend (line style). More work should never take less time: a ringed point is flagged in the tables.",
        over="batch")


def _latency_per_item_vs_batch(ctx: _Ctx) -> FigureOut | None:
    return _sweep_figure(
        ctx, "latency-per-item-vs-batch", "Latency per item vs batch size",
        "Median latency divided by the batch size: where the curve flattens, batching stops paying off.",
        over="batch", per_item=True)


def _latency_vs_size(ctx: _Ctx) -> FigureOut | None:
    return _sweep_figure(ctx, "latency-vs-input-size", "Latency vs input size",
                         "Median latency at the smallest batch for each input size the model ran at.", over="size")


def _first_iterations(ctx: _Ctx) -> FigureOut | None:
    from matplotlib.ticker import MaxNLocator

    models = [m for m in ctx.data.models if _timed(m.entries)]
    if not models:
        return None
    panels = _grid(len(models))
    backends = set()
    n = ctx.first_n
    for ax, m in zip(panels.axes, models):
        ys_all = []
        for d, b, es in _series(m, size=m.reference_size, batch=m.reference_batch).values():
            backends.add(b)
            lat = es[-1].case.latency
            seq = ([lat.cold_ms] + list(lat.warmup_ms) + list(lat.samples_ms))[:n]
            n_warm = min(len(seq), 1 + len(lat.warmup_ms))
            xs = list(range(1, len(seq) + 1))
            ls, mk = backend_style(b)
            colour = ctx.colour(d)
            ax.plot(xs, seq, color=colour, ls=ls, lw=1.0, marker=mk, mfc=colour, mec=colour, markevery=list(
                range(n_warm, len(seq))))
            ax.plot(xs[:n_warm], seq[:n_warm], ls="", marker=mk, mfc="white", mec=colour)
            ys_all += seq
        _log_if_wide(ax, ys_all, ratio=5.0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(_title(m, f" (batch {m.reference_batch})"), loc="left")
    panels.outer_labels("iteration (1 = first call)", "latency (ms)")
    _legend(panels, ctx, backends)
    return _finish(panels, "first-iterations", f"The first {n} iterations, warm-up included",
                   "Every call in order: the first (cold) call and the warm-up calls (hollow markers, left out of "
                   "the statistics), then the first timed calls (filled).")


def _distributions(ctx: _Ctx) -> FigureOut | None:
    models = [m for m in ctx.data.models if _timed(m.entries)]
    if not models:
        return None
    n_series = max(len(_series(m, size=m.reference_size, batch=m.reference_batch)) for m in models)
    panels = _grid(len(models), h=0.9 + 0.26 * max(2, n_series), left=0.75)
    devices_seen: set[int] = set()
    for ax, m in zip(panels.axes, models):
        data, labels, colours = [], [], []
        for d, b, es in _series(m, size=m.reference_size, batch=m.reference_batch).values():
            devices_seen.add(id(d))
            e = es[-1]
            data.append(e.samples_ms)
            labels.append(_t(b) + (" \u26a0" if e.status == "parity_failed" else ""))
            colours.append(ctx.colour(d))
        bp = ax.boxplot(data, orientation="horizontal", patch_artist=True, widths=0.6,
                        flierprops={"marker": ".", "markersize": 3, "alpha": 0.6},
                        medianprops={"color": "black", "linewidth": 1.2})
        for i, c in enumerate(colours):
            bp["boxes"][i].set_facecolor(c)
            bp["boxes"][i].set_edgecolor(c)
            bp["boxes"][i].set_alpha(0.75)
            for part in ("whiskers", "caps"):
                for line in bp[part][2 * i:2 * i + 2]:
                    line.set_color(c)
            bp["fliers"][i].set_markeredgecolor(c)
            bp["fliers"][i].set_markerfacecolor(c)
        ax.set_yticks(range(1, len(labels) + 1), labels)
        ax.invert_yaxis()
        _log_if_wide(ax, [v for s in data for v in s], axis="x", ratio=20.0)
        ax.set_title(_title(m, f" (batch {m.reference_batch})"), loc="left")
        ax.grid(axis="y", visible=False)
    panels.outer_labels("latency (ms)", "")
    _legend(panels, ctx, [], devices=[d for d in ctx.data.devices if id(d) in devices_seen])
    return _finish(panels, "latency-distributions", "Latency distributions",
                   "Timed samples per device (colour) and backend: box = quartiles, line = median, whiskers = 1.5 "
                   "IQR, dots = outliers. \u26a0 = failed the parity check.")


# ----------------------------------------------------------------------------- cross-model figures


def _scatter(ctx: _Ctx, entries: list[Entry], x: Callable[[Entry], float | None], y: Callable[[Entry], float | None],
             *, xlabel: str, ylabel: str, hollow: Callable[[Entry], bool] = lambda e: False,
             label_points: bool = True) -> _Panels | None:
    """One log-log scatter of the entries with a positive x and y (None when there are none):
    colour per device, marker per backend, flag rings, legend."""
    pts = [(e, x(e), y(e)) for e in entries]
    pts = [(e, a, b) for e, a, b in pts if a is not None and b is not None and a > 0 and b > 0]
    if not pts:
        return None
    panels = _Panels(1, ncols=1, w=7.2, h=4.2, left=0.8, titles=False)
    ax = panels.axes[0]
    rings = _Rings()
    backends: set[str] = set()
    labelled: set[str] = set()
    any_hollow = False
    lo, hi = min(p[1] for p in pts), max(p[1] for p in pts)
    # One artist per (device, backend, hollow) group: a few dozen artists instead of one per point.
    groups: dict[tuple[int, str, bool], tuple[Device, list[float], list[float]]] = {}
    for e, a, b in pts:
        backends.add(e.backend)
        is_hollow = hollow(e)
        any_hollow |= is_hollow
        g = groups.setdefault((id(e.device), e.backend, is_hollow), (e.device, [], []))
        g[1].append(a)
        g[2].append(b)
        rings.add(ax, a, b, ctx.severity(e, {"parity_failed"}))
        if label_points and e.backend == BASELINE_BACKEND and e.model not in labelled:
            labelled.add(e.model)
            name = e.model if len(e.model) <= 24 else e.model[:22] + "\u2026"
            # Labels of the right-most points go to their left, or the figure edge cuts them off.
            right = a >= lo * (hi / lo) ** 0.8 if hi > lo else False
            ax.annotate(_t(name), (a, b), xytext=(-4, 3) if right else (4, 3), textcoords="offset points",
                        fontsize=7, color="#333", ha="right" if right else "left")
    for (_, backend, is_hollow), (d, xs, ys) in groups.items():
        _, mk = backend_style(backend)
        c = ctx.colour(d)
        ax.plot(xs, ys, ls="", marker=mk, color=c, mfc="white" if is_hollow else c, ms=5.5, alpha=0.9)
    rings.draw()
    _log_axis(ax, "x", lo, hi)
    _log_axis(ax, "y", min(p[2] for p in pts), max(p[2] for p in pts))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    _legend(panels, ctx, backends, rings=rings.seen, hollow=any_hollow)
    return panels


def _flops_vs_latency(ctx: _Ctx) -> FigureOut | None:
    ref_batch = {m.name: m.reference_batch for m in ctx.data.models}
    entries = [e for e in _timed(ctx.data.entries)
               if e.case.flops is not None and e.spec.batch_size == ref_batch[e.model]]
    if not entries:
        return None
    panels = _scatter(ctx, entries, lambda e: e.case.flops.flops, lambda e: e.median_ms,
                      xlabel="FLOPs per forward (counted)", ylabel="median latency (ms)")
    if panels is None:
        return None
    return _finish(panels, "flops-vs-latency", "FLOPs vs latency",
                   "One point per model, input size, device and backend at the smallest batch. Points on one "
                   "diagonal achieve the same FLOP/s: FLOPs alone do not predict latency.")


def _energy_vs_latency(ctx: _Ctx) -> FigureOut | None:
    entries = [e for e in _timed(ctx.data.entries) if e.energy_j is not None]
    if not entries:
        return None
    panels = _scatter(ctx, entries, lambda e: e.median_ms, lambda e: e.energy_j,
                      xlabel="median latency (ms)", ylabel="energy per inference (J)",
                      hollow=lambda e: e.case.energy.method == "estimated", label_points=False)
    if panels is None:
        return None
    return _finish(panels, "energy-vs-latency", "Energy vs latency",
                   "Every case with an energy figure (net of idle power when the idle power is known, else "
                   "gross). Hollow markers are estimates (no power sensor), filled ones measured by a counter or a "
                   "sampled sensor: do not compare the two kinds as equals.")


def _achieved_flops(ctx: _Ctx) -> FigureOut | None:
    rows = []
    for m in ctx.data.models:
        best: dict[tuple[int, str], Entry] = {}
        for e in _timed(m.entries):
            if e.achieved_flops_s is None or e.spec.input_size != m.reference_size:
                continue
            k = (id(e.device), e.backend)
            if k not in best or e.achieved_flops_s > best[k].achieved_flops_s:
                best[k] = e
        if best:
            rows.append((m, list(best.values())))
    if not rows:
        return None
    longest = max(len(_title(m)) for m, _ in rows)
    panels = _Panels(1, ncols=1, w=7.2, h=0.7 + 0.3 * len(rows), left=0.3 + 0.062 * longest, titles=False)
    ax = panels.axes[0]
    rings = _Rings()
    backends: set[str] = set()
    keys = sorted({(id(e.device), e.backend) for _, es in rows for e in es},
                  key=lambda k: (next(i for i, d in enumerate(ctx.data.devices) if id(d) == k[0]), backend_order(k[1])))
    offset = {k: (i / max(1, len(keys) - 1) - 0.5) * 0.5 if len(keys) > 1 else 0.0 for i, k in enumerate(keys)}
    groups: dict[tuple[int, str], tuple[Device, list[float], list[float]]] = {}
    for i, (m, es) in enumerate(rows):
        for e in es:
            backends.add(e.backend)
            k = (id(e.device), e.backend)
            x, y = e.achieved_flops_s / 1e9, i + offset[k]
            g = groups.setdefault(k, (e.device, [], []))
            g[1].append(x)
            g[2].append(y)
            rings.add(ax, x, y, ctx.severity(e, {"parity_failed"}))
    for (_, backend), (d, xs, ys) in groups.items():
        _, mk = backend_style(backend)
        ax.plot(xs, ys, ls="", marker=mk, color=ctx.colour(d), ms=5.5)
    rings.draw()
    ax.set_yticks(range(len(rows)), [_title(m) for m, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    allx = [x for _, xs, _ in groups.values() for x in xs]
    _log_axis(ax, "x", min(allx), max(allx))
    ax.set_xlabel("achieved GFLOP/s (best batch: counted FLOPs / median time)")
    ax.grid(axis="y", visible=False)
    _legend(panels, ctx, backends, rings=rings.seen)
    return _finish(panels, "achieved-flops", "Achieved FLOP/s",
                   "How much arithmetic each model gets done per second: counted FLOPs of one forward divided by "
                   "its median latency, at the batch size that achieves the most.")


def _accuracy(ctx: _Ctx) -> FigureOut | None:
    entries = [e for e in _timed(ctx.data.entries) if e.case.accuracy is not None]
    if not entries:
        return None
    panels = _Panels(2, ncols=2, w=4.4, h=3.4, left=0.7)
    ax1, ax2 = panels.axes
    backends: set[str] = set()
    rings = _Rings()
    labelled: set[tuple[int, str]] = set()
    for e in entries:
        backends.add(e.backend)
        _, mk = backend_style(e.backend)
        c = ctx.colour(e.device)
        acc = e.case.accuracy.value
        for ax, xv in ((ax1, e.case.flops.flops_per_item if e.case.flops else None), (ax2, e.median_ms)):
            if xv is None:
                continue
            ax.plot([xv], [acc], ls="", marker=mk, color=c, ms=6)
            rings.add(ax, xv, acc, ctx.severity(e, {"parity_failed"}))
            if (id(ax), e.model) not in labelled:
                labelled.add((id(ax), e.model))
                ax.annotate(_t(e.model[:24]), (xv, acc), xytext=(4, 3), textcoords="offset points", fontsize=7)
    rings.draw()
    metric = entries[0].case.accuracy.metric
    for ax in (ax1, ax2):
        xs = [x for line in ax.get_lines() for x in line.get_xdata()]
        if xs:
            _log_axis(ax, "x", min(xs), max(xs))
        ax.set_ylabel(_t(f"accuracy ({metric})"))
    ax1.set_xlabel("FLOPs per item")
    ax2.set_xlabel("median latency (ms)")
    ax1.set_title("Accuracy vs FLOPs", loc="left")
    ax2.set_title("Accuracy vs latency", loc="left")
    _legend(panels, ctx, backends, rings=rings.seen, devices=_devices_of(ctx, entries))
    datasets = sorted({e.case.accuracy.dataset for e in entries})
    return _finish(panels, "accuracy", "Accuracy vs FLOPs and latency",
                   "Cases that carry an accuracy figure (" + "; ".join(datasets) + ").")


def _devices_of(ctx: _Ctx, entries: list[Entry]) -> list[Device]:
    ids = {id(e.device) for e in entries}
    return [d for d in ctx.data.devices if id(d) in ids]


# Every figure, in report order, with its relative drawing cost (measured on the 3 x 15 x 2
# size-budget report) to hand the expensive ones out first.
_MAKERS: list[Callable[[_Ctx], FigureOut | None]] = [
    _latency_vs_batch, _latency_per_item_vs_batch, _latency_vs_size, _first_iterations,
    _distributions, _flops_vs_latency, _energy_vs_latency, _achieved_flops, _accuracy,
]
_COST = [6, 6, 6, 8, 6, 1, 1, 1, 1]
