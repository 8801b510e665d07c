"""Figures for the report, drawn with matplotlib (Agg, no pyplot state) from merged results.

Each figure comes back as SVG and PNG bytes: the HTML inlines the SVG (as a data: image, so
nothing in it can run) and the PNG/SVG files are written beside the HTML for lab write-ups.

    base         the records (FigureOut, FigureSpec), the drawing context, entry selections
    style        matplotlib settings, colours, markers, panels, legend, axes, saving
    pool         drawing in forked workers
    per_model    small multiples, one panel per model
    cross_model  every model in one plot
    study        accuracy vs efficiency (Lab 2): FLOPs, latency, energy, Pareto fronts
    timeline     sustained runs (--sustain): latency and temperature over time, throttling shaded

Heavy imports (matplotlib) happen inside the functions.
"""

from __future__ import annotations

from suite.report.badges import Flag
from suite.report.figures import accuracy_vs_cost, cross_model, per_model, pool, timeline
from suite.report.figures.common import Ctx, FigureOut, FigureSpec
from suite.report.figures.style import DEVICE_COLOURS, RC
from suite.report.merge import ReportData

__all__ = ["FIGURES", "FIRST_N_ITERATIONS", "FigureOut", "FigureSpec", "build_figures"]

FIRST_N_ITERATIONS = 20
MAX_WORKERS = 4

# Every figure, in report order, with its relative drawing cost (measured on the 3 x 15 x 2
# size-budget report) to hand the expensive ones out first.
FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec("latency-vs-batch", per_model.latency_vs_batch, cost=6),
    FigureSpec("latency-per-item-vs-batch", per_model.latency_per_item_vs_batch, cost=6),
    FigureSpec("latency-vs-input-size", per_model.latency_vs_size, cost=6),
    FigureSpec("first-iterations", per_model.first_iterations, cost=8),
    FigureSpec("latency-distributions", per_model.distributions, cost=6),
    FigureSpec("flops-vs-latency", cross_model.flops_vs_latency, cost=1),
    FigureSpec("energy-vs-latency", cross_model.energy_vs_latency, cost=1),
    FigureSpec("achieved-flops", cross_model.achieved_flops, cost=1),
    FigureSpec("roofline", cross_model.roofline, cost=1),
    FigureSpec("sustained-timeline", timeline.sustained_timeline, cost=3),
    # The "Accuracy vs efficiency" section's figures (suite.report.study_points.FIGURE_IDS: shown there).
    FigureSpec("study-flops-accuracy", accuracy_vs_cost.flops_vs_accuracy, cost=2),
    FigureSpec("study-latency-accuracy", accuracy_vs_cost.latency_vs_accuracy, cost=2),
    FigureSpec("study-flops-latency", accuracy_vs_cost.flops_vs_latency, cost=2),
    FigureSpec("study-pareto", accuracy_vs_cost.pareto, cost=3),
)



def build_figures(data: ReportData, flags: dict[str, list[Flag]], *,
                  first_n: int = FIRST_N_ITERATIONS, workers: int | None = None) -> list[FigureOut]:
    """All figures the data supports (a figure with nothing to show is left out), in the order of
    FIGURES. They are drawn in forked processes when there are cores to spare (`workers`, default:
    the usable cores, at most 4) and fork is safe; the result is the same either way."""
    import matplotlib


    matplotlib.use("Agg", force=False)

    colours = {id(d): DEVICE_COLOURS[i % len(DEVICE_COLOURS)] for i, d in enumerate(data.devices)}
    ctx = Ctx(data, flags, colours, first_n)

    def draw(index: int) -> FigureOut | None:
        return draw_figure(FIGURES[index], ctx)

    n = pool.usable_cores() if workers is None else workers
    figs = None
    if n > 1 and pool.fork_is_safe():
        figs = pool.map_forked(draw, [s.cost for s in FIGURES], min(n, MAX_WORKERS))
    if figs is None:
        figs = [draw(i) for i in range(len(FIGURES))]
    return [f for f in figs if f is not None]


def draw_figure(spec: FigureSpec, ctx: Ctx) -> FigureOut | None:
    """One figure, drawn with the report's matplotlib settings."""
    from matplotlib import rc_context


    with rc_context(RC):
        return spec.make(ctx)
