"""Cross-model figures: every model in one plot (scatter plots and a dot plot), one point per
case, colour per device, marker per backend."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from suite.report.backend_style import BASELINE_BACKEND, backend_order, backend_style
from suite.report.figures.common import Ctx, FigureOut, timed
from suite.report.figures.style import (
    Panels,
    Rings,
    add_legend,
    finish_figure,
    log_axis,
    mpl_text,
    panel_title,
)
from suite.report.format import short_name
from suite.report.merge import Device, Entry
from suite.results.schema import DevicePeaks

if TYPE_CHECKING:
    from matplotlib.axes import Axes

# A case's point: the entry and its x and y
Point = tuple[Entry, float, float]


def _draw_points(ax: Axes, ctx: Ctx, pts: list[Point],
                 hollow: Callable[[Entry], bool] = lambda e: False) -> tuple[Rings, set[str], bool]:
    """The cases' points on `ax`: colour per device, marker per backend, hollow where `hollow`
    says, one artist per (device, backend, hollow) group (a few dozen artists instead of one per
    point), flag rings drawn over them. Returns the rings, the backends seen and whether any
    point was hollow (for the legend)."""
    rings = Rings()
    backends: set[str] = set()
    groups: dict[tuple[int, str, bool], tuple[Device, list[float], list[float]]] = {}
    for e, x, y in pts:
        backends.add(e.backend)
        g = groups.setdefault((id(e.device), e.backend, hollow(e)), (e.device, [], []))
        g[1].append(x)
        g[2].append(y)
        rings.add(ax, x, y, ctx.severity(e, {"parity_failed"}))
    for (_, backend, is_hollow), (d, xs, ys) in groups.items():
        _, mk = backend_style(backend)
        c = ctx.colour(d)
        ax.plot(xs, ys, ls="", marker=mk, color=c, mfc="white" if is_hollow else c, ms=5.5, alpha=0.9)
    rings.draw()
    return rings, backends, any(k[2] for k in groups)


def _label(ax: Axes, model: str, x: float, y: float, *, right: bool, dy: int) -> None:
    """A model's name beside its point; points in the right part of the axis get it on their
    left, or the figure edge cuts it off."""
    name = short_name(model, 24)
    ax.annotate(mpl_text(name), (x, y), xytext=(-4 if right else 4, dy), textcoords="offset points",
                fontsize=7, color="#333", ha="right" if right else "left")


def _scatter(ctx: Ctx, entries: list[Entry], x: Callable[[Entry], float | None], y: Callable[[Entry], float | None],
             *, xlabel: str, ylabel: str, hollow: Callable[[Entry], bool] = lambda e: False,
             label_points: bool = True) -> Panels | None:
    """One log-log scatter of the entries with a positive x and y (None when there are none):
    colour per device, marker per backend, flag rings, legend."""
    pts: list[Point] = []
    for e in entries:
        a, b = x(e), y(e)
        if a is not None and b is not None and a > 0 and b > 0:
            pts.append((e, a, b))
    if not pts:
        return None
    panels = Panels(1, ncols=1, w=7.2, h=4.2, left=0.8, titles=False)
    ax = panels.axes[0]
    lo, hi = min(p[1] for p in pts), max(p[1] for p in pts)
    rings, backends, any_hollow = _draw_points(ax, ctx, pts, hollow)
    if label_points:
        labelled: set[str] = set()
        for e, a, b in pts:
            if e.backend == BASELINE_BACKEND and e.model not in labelled:
                labelled.add(e.model)
                _label(ax, e.model, a, b, right=hi > lo and a >= lo * (hi / lo) ** 0.8, dy=3)
    log_axis(ax, "x", lo, hi)
    log_axis(ax, "y", min(p[2] for p in pts), max(p[2] for p in pts))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    add_legend(panels, ctx, backends, rings=rings.seen, hollow=any_hollow)
    return panels


def flops_vs_latency(ctx: Ctx) -> FigureOut | None:
    ref_batch = {m.name: m.reference_batch for m in ctx.data.models}
    entries = [e for e in timed(ctx.data.entries)
               if e.case.flops is not None and e.spec.batch_size == ref_batch[e.model]]
    if not entries:
        return None
    panels = _scatter(ctx, entries, lambda e: e.case.flops.flops if e.case.flops is not None else None,
                      lambda e: e.median_ms,
                      xlabel="FLOPs per forward (counted)", ylabel="median latency (ms)")
    if panels is None:
        return None
    return finish_figure(panels, "flops-vs-latency", "FLOPs vs latency",
                   "One point per model, input size, device and backend at the smallest batch. Points on one "
                   "diagonal achieve the same FLOP/s: FLOPs alone do not predict latency.")


def energy_vs_latency(ctx: Ctx) -> FigureOut | None:
    entries = [e for e in timed(ctx.data.entries) if e.energy_j is not None]
    if not entries:
        return None
    panels = _scatter(ctx, entries, lambda e: e.median_ms, lambda e: e.energy_j,
                      xlabel="median latency (ms)", ylabel="energy per inference (J)",
                      hollow=lambda e: e.case.energy is not None and e.case.energy.method == "estimated",
                      label_points=False)
    if panels is None:
        return None
    return finish_figure(panels, "energy-vs-latency", "Energy vs latency",
                   "Every case with an energy figure (net of idle power when the idle power is known, else "
                   "gross). Hollow markers are estimates (no power sensor), filled ones measured by a counter or a "
                   "sampled sensor: do not compare the two kinds as equals.")


def achieved_flops(ctx: Ctx) -> FigureOut | None:
    rows = []
    for m in ctx.data.models:
        best: dict[tuple[int, str], tuple[Entry, float]] = {}  # the entry and its achieved FLOP/s
        for e in timed(m.entries):
            achieved = e.achieved_flops_s
            if achieved is None or e.spec.input_size != m.reference_size:
                continue
            k = (id(e.device), e.backend)
            if k not in best or achieved > best[k][1]:
                best[k] = (e, achieved)
        if best:
            rows.append((m, list(best.values())))
    if not rows:
        return None
    longest = max(len(panel_title(m)) for m, _ in rows)
    panels = Panels(1, ncols=1, w=7.2, h=0.7 + 0.3 * len(rows), left=0.3 + 0.062 * longest, titles=False)
    ax = panels.axes[0]
    keys = sorted({(id(e.device), e.backend) for _, es in rows for e, _ in es},
                  key=lambda k: (next(i for i, d in enumerate(ctx.data.devices) if id(d) == k[0]), backend_order(k[1])))
    offset = {k: (i / max(1, len(keys) - 1) - 0.5) * 0.5 if len(keys) > 1 else 0.0 for i, k in enumerate(keys)}
    pts = [(e, achieved / 1e9, i + offset[(id(e.device), e.backend)]) for i, (_, es) in enumerate(rows)
           for e, achieved in es]
    rings, backends, _ = _draw_points(ax, ctx, pts)
    ax.set_yticks(range(len(rows)), [panel_title(m) for m, _ in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    log_axis(ax, "x", min(p[1] for p in pts), max(p[1] for p in pts))
    ax.set_xlabel("achieved GFLOP/s (best batch: counted FLOPs / median time)")
    ax.grid(axis="y", visible=False)
    add_legend(panels, ctx, backends, rings=rings.seen)
    return finish_figure(panels, "achieved-flops", "Achieved FLOP/s",
                   "How much arithmetic each model gets done per second: counted FLOPs of one forward divided by "
                   "its median latency, at the batch size that achieves the most.")


def _device_roofs(d: Device) -> list[DevicePeaks]:
    """The device's measured ceilings (CPU first) stored by its newest run."""
    return sorted(d.env.peaks, key=lambda p: (p.device != "cpu", p.device))


def roofline(ctx: Ctx) -> FigureOut | None:
    """Log-log roofline: arithmetic intensity (FLOP/byte, traffic model of suite.metrics.roofline) vs
    achieved FLOP/s, one point per case, under each device's measured compute and bandwidth roofs."""
    import numpy as np

    pts: list[Point] = []  # (entry, intensity, achieved GFLOP/s)
    for e in timed(ctx.data.entries):
        r, achieved = e.case.roofline, e.achieved_flops_s
        if r is not None and r.arithmetic_intensity and achieved:
            pts.append((e, r.arithmetic_intensity, achieved / 1e9))
    if not pts:
        return None
    panels = Panels(1, ncols=1, w=7.2, h=4.4, left=0.8, titles=False)
    ax = panels.axes[0]
    xs_all = [x for _, x, _ in pts]
    ys_all = [y for _, _, y in pts]
    lo_x, hi_x = min(xs_all) / 3, max(xs_all) * 3
    roof_tops: list[float] = []
    for d in ctx.data.devices:
        roofs = _device_roofs(d)
        for p in roofs:  # the CPU's, then each GPU's (dash-dot): a case sits under its own device's
            grid = np.geomspace(lo_x, hi_x, 200)
            roof = np.minimum(p.gemm_flops_s, grid * p.bandwidth_bytes_s) / 1e9
            ax.plot(grid, roof, color=ctx.colour(d), lw=1.4, ls="--" if p.device == "cpu" else "-.", alpha=0.8)
            ridge = p.gemm_flops_s / p.bandwidth_bytes_s
            which = f"{p.device}: " if len(roofs) > 1 else ""
            ax.annotate(mpl_text(f"{which}{p.gemm_flops_s / 1e9:.0f} GFLOP/s, {p.bandwidth_bytes_s / 1e9:.0f} GB/s"),
                        (hi_x, p.gemm_flops_s / 1e9), xytext=(-4, 3), textcoords="offset points", ha="right",
                        fontsize=7, color=ctx.colour(d))
            if lo_x < ridge < hi_x:
                ax.axvline(ridge, color=ctx.colour(d), lw=0.6, ls=":", alpha=0.6)
            roof_tops.append(p.gemm_flops_s / 1e9)
    points = sorted(pts, key=lambda p: (p[0].spec.batch_size, p[1]))
    labelled: set[str] = set()
    for e, x, y in points:
        if e.model not in labelled:  # one label per model, at its smallest batch
            labelled.add(e.model)
            _label(ax, e.model, x, y, right=x * x > lo_x * hi_x, dy=-9)  # right half of the log axis
    rings, backends, _ = _draw_points(ax, ctx, points)
    log_axis(ax, "x", lo_x, hi_x)
    log_axis(ax, "y", min(ys_all) / 2, max([*ys_all, *roof_tops]) * 1.5)
    ax.set_xlim(lo_x, hi_x)
    ax.set_xlabel("arithmetic intensity (counted FLOPs / bytes moved per forward)")
    ax.set_ylabel("achieved GFLOP/s")
    add_legend(panels, ctx, backends, rings=rings.seen)
    no_roofs = "" if roof_tops else " No device ceilings were measured (--no-peaks), so no roofs are drawn."
    return finish_figure(panels, "roofline", "Roofline",
                   "One point per case: counted FLOPs of one forward over the bytes it moves (weights once, every "
                   "operator's activations read and written) against the FLOP/s it achieved. Dashed: each device's "
                   "roofs, measured by bench peak (sustained fp32 GEMM; STREAM triad bandwidth x intensity). Left of "
                   "the dotted ridge a case is bounded by memory, right of it by compute; the gap below the roof "
                   "is time spent elsewhere (small kernels, non-GEMM operators, framework overhead)." + no_roofs)
