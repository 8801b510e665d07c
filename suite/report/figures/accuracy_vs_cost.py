"""The accuracy-vs-efficiency figures (Lab 2, questions 8 and 11): FLOPs vs accuracy, latency vs
accuracy, FLOPs vs latency, and the Pareto fronts. One panel per device (and dataset) side by
side on common axes; colour per model variant, marker per backend, line style per resize
method, a line joining the input sizes of one series, the accuracy's 95% CI as a vertical bar."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from suite.report.backend_style import backend_order, backend_style
from suite.report.figures.common import Ctx, FigureOut
from suite.report.figures.style import (
    DEVICE_COLOURS,
    Panels,
    Rings,
    add_ring_entries,
    finish_figure,
    log_axis,
    mpl_text,
    place_legend,
)
from suite.report.merge import Device
from suite.report.study_points import StudyData, StudyPoint, metric_label, study_points

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes

RESIZE_STYLES = {"area": "-", "bilinear": "--", "nearest": ":", "center-crop": "-.", None: (0, (3, 2))}
OTHER_STYLES = [(0, (5, 1, 1, 1)), (0, (1, 3)), (0, (8, 3))]
Value = Callable[[StudyPoint], float | None]
Task = tuple[str, str]  # (dataset, metric)
AxisValues = list[tuple["Axes", list[float]]]  # per panel, the values on one of its axes


def _study(ctx: Ctx) -> StudyData | None:
    # Recomputed per figure: cheap next to drawing, and nothing to keep in step across workers.
    return study_points(ctx.data)


class _Styles:
    """Colour per model, line style per resize method, as the study's points use them."""

    def __init__(self, study: StudyData):
        models = sorted({p.model for p in study.points}, key=lambda m: (m.lower(), m))
        self.colours = {m: DEVICE_COLOURS[i % len(DEVICE_COLOURS)] for i, m in enumerate(models)}
        resizes = sorted({p.resize for p in study.points}, key=lambda r: (r is None, r or ""))
        extra = iter(OTHER_STYLES * 3)
        self.lines = {r: RESIZE_STYLES[r] if r in RESIZE_STYLES else next(extra, "-") for r in resizes}
        self.backends = sorted({p.backend for p in study.points}, key=backend_order)

    def legend(self, panels: Panels, rings: set[str], *, ci: bool, lines: bool = True) -> None:
        from matplotlib.lines import Line2D

        handles: list[Artist] = []
        labels: list[str] = []
        for m, c in self.colours.items():
            handles.append(Line2D([], [], color=c, lw=6))
            labels.append(mpl_text(m))
        for b in self.backends:
            handles.append(Line2D([], [], color="#444", ls="", marker=backend_style(b)[1]))
            labels.append(mpl_text(b))
        if lines:
            for r, ls in self.lines.items():
                handles.append(Line2D([], [], color="#444", ls=ls))
                labels.append(mpl_text(f"resize: {r}" if r else "resize: not stated"))
        if ci:
            handles.append(Line2D([], [], color="#444", ls="", marker="|", ms=10))
            labels.append("accuracy 95% CI")
        add_ring_entries(handles, labels, rings)
        place_legend(panels, handles, labels)


def _panels(study: StudyData, *, cols: int = 0) -> tuple[Panels, list[tuple[Task, Device, list[StudyPoint]]]]:
    panels_data = study.panels()
    ncols = cols or min(3, len(study.devices))
    n = len(panels_data) * (cols or 1)
    return Panels(n, ncols=ncols, w=4.0 if ncols > 1 else 6.4, h=3.3, left=0.75), panels_data


def _title(study: StudyData, task: Task, device: Device) -> str:
    return mpl_text(device.label + (f" \u00b7 {task[0]}" if len(study.tasks) > 1 else ""))


def _common_limits(axes_values: AxisValues, axis: str, log: bool) -> None:
    """The same range on every panel: a device's panel reads against its neighbour's."""
    vals = [v for _, vs in axes_values for v in vs if v is not None and (v > 0 or not log)]
    if not vals:
        return
    lo, hi = min(vals), max(vals)
    for ax, _ in axes_values:
        if log:
            log_axis(ax, axis, lo, hi)
            pad = (hi / lo) ** 0.06 if hi > lo else 1.5
            lim = (lo / pad, hi * pad)
        else:
            pad = (hi - lo) * 0.06 or max(abs(hi) * 0.05, 1.0)
            lim = (lo - pad, hi + pad)
        (ax.set_xlim if axis == "x" else ax.set_ylim)(*lim)


def _series_plot(ctx: Ctx, x: Value, y: Value, *, fid: str, title: str, xlabel: str, ylabel: str | None,
                 caption: str, ci: bool, ylog: bool) -> FigureOut | None:
    study = _study(ctx)
    if study is None:
        return None
    if not any(x(p) is not None and y(p) is not None for p in study.points):
        return None
    styles = _Styles(study)
    panels, panels_data = _panels(study)
    rings = Rings()
    xs_by_ax: AxisValues = []
    ys_by_task: dict[Task, AxisValues] = {}
    for ax, (task, device, pts) in zip(panels.axes, panels_data):
        series: dict[tuple[str, str, str | None], list[tuple[StudyPoint, float, float]]] = {}  # point, x, y
        for p in pts:
            xv, yv = x(p), y(p)
            if xv is not None and yv is not None and xv > 0:
                series.setdefault((p.model, p.backend, p.resize), []).append((p, xv, yv))
        xs: list[float] = []
        ys: list[float] = []
        for (model, backend, resize), sp in series.items():
            sp.sort(key=lambda t: t[1])
            px, py = [xv for _, xv, _ in sp], [yv for _, _, yv in sp]
            c = styles.colours[model]
            ax.plot(px, py, color=c, ls=styles.lines[resize], marker=backend_style(backend)[1], ms=5, alpha=0.9)
            if ci:
                cis = [(xv, interval) for p, xv, _ in sp if (interval := p.accuracy_ci) is not None]
                ax.vlines([xv for xv, _ in cis], [lo for _, (lo, _) in cis],
                          [hi for _, (_, hi) in cis], colors=c, lw=0.9, alpha=0.7)
                ys += [v for _, interval in cis for v in interval]
            for p, a, b in sp:
                rings.add(ax, a, b, ctx.severity(p.entry or p.accuracy_entry, {"parity_failed"}))
            xs += px
            ys += py
        ax.set_title(_title(study, task, device), loc="left")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(mpl_text(ylabel or f"accuracy: {metric_label(task[1])}"))
        xs_by_ax.append((ax, xs))
        ys_by_task.setdefault(task, []).append((ax, ys))
    rings.draw()
    _common_limits(xs_by_ax, "x", True)
    for per_task in ys_by_task.values():
        _common_limits(per_task, "y", ylog)
    styles.legend(panels, rings.seen, ci=ci)
    return finish_figure(panels, fid, title, caption)


def _latency_text(study: StudyData | None) -> str:
    return "" if study is None else f"Latency per example: {study.latency_source_text()}."


def _flops(p: StudyPoint) -> float | None:
    return float(p.flops_per_item) if p.flops_per_item else None


def _accuracy(p: StudyPoint) -> float:
    return p.accuracy


def _latency(p: StudyPoint) -> float | None:
    return p.latency_ms


_COMMON = ("One panel per device, on common axes; colour: model variant, marker: backend, line style: resize "
           "method; each line joins the input sizes of one model, backend and resize method.")


def flops_vs_accuracy(ctx: Ctx) -> FigureOut | None:
    return _series_plot(ctx, _flops, _accuracy, fid="study-flops-accuracy", title="FLOPs vs accuracy",
                        xlabel="FLOPs per example (counted)", ylabel=None, ci=True, ylog=False,
                        caption=f"Accuracy against the counted FLOPs of one example. {_COMMON} Vertical bars: the "
                                "accuracy's 95% confidence interval.")


def latency_vs_accuracy(ctx: Ctx) -> FigureOut | None:
    return _series_plot(ctx, _latency, _accuracy, fid="study-latency-accuracy", title="Latency vs accuracy",
                        xlabel="latency (ms per example)", ylabel=None, ci=True, ylog=False,
                        caption=f"Accuracy against latency. {_latency_text(_study(ctx))} {_COMMON} Vertical bars: "
                                "the accuracy's 95% confidence interval.")


def flops_vs_latency(ctx: Ctx) -> FigureOut | None:
    return _series_plot(ctx, _flops, _latency, fid="study-flops-latency", title="FLOPs vs latency (study)",
                        xlabel="FLOPs per example (counted)", ylabel="latency (ms per example)", ci=False, ylog=True,
                        caption=f"Latency against counted FLOPs for the study's points. {_latency_text(_study(ctx))} "
                                f"{_COMMON}")


def pareto(ctx: Ctx) -> FigureOut | None:
    study = _study(ctx)
    if study is None or not any(p.latency_ms is not None for p in study.points):
        return None
    styles = _Styles(study)
    panels, panels_data = _panels(study, cols=2)
    kinds = (("latency_ms", "on_latency_front", "latency (ms per example)"),
             ("energy_j", "on_energy_front", "energy (J per example)"))
    limits: dict[str, AxisValues] = {"latency_ms": [], "energy_j": []}
    ys_by_task: dict[Task, AxisValues] = {}
    for i, (task, device, pts) in enumerate(panels_data):
        for k, (cost, front, xlabel) in enumerate(kinds):
            ax = panels.axes[2 * i + k]
            have = [p for p in pts if getattr(p, cost) is not None and getattr(p, cost) > 0]
            for p in have:
                on = getattr(p, front)
                ax.plot([getattr(p, cost)], [p.accuracy], ls="", marker=backend_style(p.backend)[1],
                        color=styles.colours[p.model], ms=7 if on else 4.5, alpha=1.0 if on else 0.45,
                        mec="#111" if on else styles.colours[p.model], mew=1.2 if on else 0.5, zorder=3 if on else 2)
            steps = sorted((getattr(p, cost), p.accuracy) for p in have if getattr(p, front))
            if steps:
                ax.step([s[0] for s in steps], [s[1] for s in steps], where="post", color="#111", lw=1.2, zorder=2.5)
            estimated = cost == "energy_j" and any(p.energy_method == "estimated" for p in have)
            name = "energy" if cost == "energy_j" else "latency"
            ax.set_title(_title(study, task, device) + f" \u00b7 {name}" + (" (estimated)" if estimated else ""),
                         loc="left")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(mpl_text(f"accuracy: {metric_label(task[1])}") if k == 0 else "")
            if not have:
                ax.text(0.5, 0.5, "no energy figure", transform=ax.transAxes, ha="center", color="#777")
            limits[cost].append((ax, [getattr(p, cost) for p in have]))
            ys_by_task.setdefault(task, []).append((ax, [p.accuracy for p in have]))
    for per_ax in limits.values():
        _common_limits(per_ax, "x", True)
    for per_task in ys_by_task.values():
        _common_limits(per_task, "y", False)
    styles.legend(panels, set(), ci=False, lines=False)
    return finish_figure(panels, "study-pareto", "Pareto fronts: accuracy vs latency and vs energy",
                         "Per device: a point is on the front (large, outlined, joined by the step line) when no "
                         "other point is at least as accurate and at least as cheap, and better in one. Left: "
                         f"latency, right: energy per example (net of idle when known). {_latency_text(study)} Cases "
                         "that failed the parity check are left off the fronts.")

