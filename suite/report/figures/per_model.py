"""Per-model figures: small multiples, one panel per model and one line per device and backend,
so that the number of figures (and the render time) does not grow with the number of models."""

from __future__ import annotations

from suite.report.backend_style import backend_style
from suite.report.figures.common import Ctx, FigureOut, model_series, size_text, timed
from suite.report.figures.style import (
    Rings,
    add_legend,
    finish_figure,
    line_ci,
    log_if_wide,
    mpl_text,
    panel_grid,
    panel_title,
)
from suite.report.merge import Entry

# Flags that ring a point in the scaling figures.
_SCALING_FLAGS = {"parity_failed", "non_monotonic", "throttling"}


def _sweep_figure(ctx: Ctx, fid: str, title: str, caption: str, *, over: str,
                  per_item: bool = False) -> FigureOut | None:
    """Median latency (with its CI) as the batch size or the input size grows: one panel per model
    that ran at two or more of them, one line per device and backend, the other axis held at the
    model's reference value."""
    by_batch = over == "batch"

    def x_of(e: Entry) -> float | None:
        return e.spec.batch_size if by_batch else e.spec.input_size

    # A sweep needs two values (a case at the model's default size, None, is no point on it).
    models = [m for m in ctx.data.models if len({x_of(e) for e in timed(m.entries)} - {None}) >= 2]
    if not models:
        return None
    panels = panel_grid(len(models))
    rings = Rings()
    backends: set[str] = set()
    for ax, m in zip(panels.axes, models):
        series = model_series(m, size=m.reference_size) if by_batch else model_series(m, batch=m.reference_batch)
        ys_all: list[float] = []
        for d, b, es in series.values():
            backends.add(b)
            # The series' entries at a known x (each is timed: it has a summary).
            pts = [(e, x, s) for e in es if (x := x_of(e)) is not None and (s := e.summary) is not None]
            k = [e.spec.batch_size if per_item else 1 for e, _, _ in pts]
            xs = [x for _, x, _ in pts]
            ys = [s.median_ms / n for (_, _, s), n in zip(pts, k)]
            line_ci(ax, xs, ys, [s.median_ci_low_ms / n for (_, _, s), n in zip(pts, k)],
                     [s.median_ci_high_ms / n for (_, _, s), n in zip(pts, k)], colour=ctx.colour(d), backend=b,
                     alpha=0.45 if any(e.status == "parity_failed" for e in es) else 1.0)
            ys_all += ys
            for (e, _, _), x, y in zip(pts, xs, ys):
                rings.add(ax, x, y, ctx.severity(e, _SCALING_FLAGS))
        log_if_wide(ax, ys_all)
        if by_batch:
            ax.set_xscale("log", base=2)
            ax.set_xticks(m.batches, [str(b) for b in m.batches])
            ax.minorticks_off()
            ax.set_title(panel_title(m, size_text(m, m.reference_size)), loc="left")
        else:
            ax.set_title(panel_title(m, f" (batch {m.reference_batch})"), loc="left")
            ax.set_xlabel(mpl_text(m.size_axis or "input size"))  # resolution, seq_len...: per model
    rings.draw()
    ylabel = "ms per item" if per_item else "median latency (ms)"
    panels.outer_labels("batch size" if by_batch else "", ylabel)
    add_legend(panels, ctx, backends, rings=rings.seen)
    return finish_figure(panels, fid, title, caption)


def latency_vs_batch(ctx: Ctx) -> FigureOut | None:
    return _sweep_figure(
        ctx, "latency-vs-batch", "Latency vs batch size",
        "Median latency of one batch with its 95% confidence interval (vertical bar), per device (colour) and "
        "backend (line style). More work should never take less time: a ringed point is flagged in the tables.",
        over="batch")


def latency_per_item_vs_batch(ctx: Ctx) -> FigureOut | None:
    return _sweep_figure(
        ctx, "latency-per-item-vs-batch", "Latency per item vs batch size",
        "Median latency divided by the batch size: where the curve flattens, batching stops paying off.",
        over="batch", per_item=True)


def latency_vs_size(ctx: Ctx) -> FigureOut | None:
    return _sweep_figure(ctx, "latency-vs-input-size", "Latency vs input size",
                         "Median latency at the smallest batch for each input size the model ran at.", over="size")


def first_iterations(ctx: Ctx) -> FigureOut | None:
    from matplotlib.ticker import MaxNLocator

    models = [m for m in ctx.data.models if timed(m.entries)]
    if not models:
        return None
    panels = panel_grid(len(models))
    backends: set[str] = set()
    n = ctx.first_n
    for ax, m in zip(panels.axes, models):
        ys_all: list[float] = []
        for d, b, es in model_series(m, size=m.reference_size, batch=m.reference_batch).values():
            backends.add(b)
            lat = es[-1].case.latency
            if lat is None:  # never: a series holds timed entries
                continue
            seq = ([lat.cold_ms] + list(lat.warmup_ms) + list(lat.samples_ms))[:n]
            n_warm = min(len(seq), 1 + len(lat.warmup_ms))
            xs = list(range(1, len(seq) + 1))
            ls, mk = backend_style(b)
            colour = ctx.colour(d)
            ax.plot(xs, seq, color=colour, ls=ls, lw=1.0, marker=mk, mfc=colour, mec=colour, markevery=list(
                range(n_warm, len(seq))))
            ax.plot(xs[:n_warm], seq[:n_warm], ls="", marker=mk, mfc="white", mec=colour)
            ys_all += seq
        log_if_wide(ax, ys_all, ratio=5.0)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_title(panel_title(m, f" (batch {m.reference_batch})"), loc="left")
    panels.outer_labels("iteration (1 = first call)", "latency (ms)")
    add_legend(panels, ctx, backends)
    return finish_figure(panels, "first-iterations", f"The first {n} iterations, warm-up included",
                   "Every call in order: the first (cold) call and the warm-up calls (hollow markers, left out of "
                   "the statistics), then the first timed calls (filled).")


def distributions(ctx: Ctx) -> FigureOut | None:
    models = [m for m in ctx.data.models if timed(m.entries)]
    if not models:
        return None
    n_series = max(len(model_series(m, size=m.reference_size, batch=m.reference_batch)) for m in models)
    panels = panel_grid(len(models), h=0.9 + 0.26 * max(2, n_series), left=0.75)
    devices_seen: set[int] = set()
    for ax, m in zip(panels.axes, models):
        data, labels, colours = [], [], []
        for d, b, es in model_series(m, size=m.reference_size, batch=m.reference_batch).values():
            devices_seen.add(id(d))
            e = es[-1]
            data.append(e.samples_ms)
            labels.append(mpl_text(b) + (" \u26a0" if e.status == "parity_failed" else ""))
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
        log_if_wide(ax, [v for s in data for v in s], axis="x", ratio=20.0)
        ax.set_title(panel_title(m, f" (batch {m.reference_batch})"), loc="left")
        ax.grid(axis="y", visible=False)
    panels.outer_labels("latency (ms)", "")
    add_legend(panels, ctx, [], devices=[d for d in ctx.data.devices if id(d) in devices_seen])
    return finish_figure(panels, "latency-distributions", "Latency distributions",
                   "Timed samples per device (colour) and backend: box = quartiles, line = median, whiskers = 1.5 "
                   "IQR, dots = outliers. \u26a0 = failed the parity check.")
