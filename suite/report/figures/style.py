"""The figures' look: matplotlib settings, colours and markers, the panel grid with its fixed
layout, the legend, flag rings, log axes, and saving to SVG and PNG. Drawing helpers take axes
and data; they hold no state between figures."""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from suite.report.backend_style import backend_order, backend_style
from suite.report.figures.common import Ctx, FigureOut
from suite.report.format import fmt_si, neutralize, short_name
from suite.report.merge import Device, ModelInfo

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.typing import RcKeyType

PNG_DPI = 120

# Okabe-Ito: distinguishable with the common colour-vision deficiencies (yellow left out: too
# light on white).
DEVICE_COLOURS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000"]
FLAG_RING = {"bad": "#C0392B", "warn": "#B7791F"}

RC: dict[RcKeyType, object] = {
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


class Panels:
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


def panel_grid(n: int, *, ncols: int = 3, w: float = 3.3, h: float = 2.5, left: float = 0.62) -> Panels:
    return Panels(n, ncols=ncols, w=w, h=h, left=left)


def add_legend(panels: Panels, ctx: Ctx, backends: Iterable[str], *, rings: Iterable[str] = frozenset(),
            hollow: bool = False, devices: Iterable[Device] | None = None) -> None:
    from matplotlib.lines import Line2D

    handles: list[Artist] = []
    labels: list[str] = []
    for d in devices if devices is not None else ctx.data.devices:
        handles.append(Line2D([], [], color=ctx.colour(d), lw=6))
        labels.append(mpl_text(d.label))
    for b in sorted(set(backends), key=backend_order):
        ls, mk = backend_style(b)
        handles.append(Line2D([], [], color="#444", ls=ls, marker=mk))
        labels.append(mpl_text(b))
    if hollow:
        handles.append(Line2D([], [], color="#444", ls="", marker="o", mfc="white"))
        labels.append("estimated energy (hollow)")
    add_ring_entries(handles, labels, rings)
    place_legend(panels, handles, labels)


def add_ring_entries(handles: list[Artist], labels: list[str], rings: Iterable[str]) -> None:
    """Legend entries for the flag rings drawn (Rings.seen)."""
    from matplotlib.lines import Line2D

    for sev, text in (("bad", "parity failed: do not compare"), ("warn", "flagged (see table)")):
        if sev in rings:
            handles.append(Line2D([], [], color=FLAG_RING[sev], ls="", marker="o", mfc="none", ms=9, mew=1.6))
            labels.append(text)


def place_legend(panels: Panels, handles: list[Artist], labels: list[str]) -> None:
    """The legend above the panels, in as many columns as fit the width; lays the panels out."""
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


class Rings:
    """Flag rings around points, drawn with one artist per severity and axes (cheap to save)."""

    def __init__(self) -> None:
        self.points: dict[tuple[int, str], tuple[Axes, list[float], list[float]]] = {}
        self.seen: set[str] = set()

    def add(self, ax: Axes, x: float, y: float, severity: str | None) -> None:
        if severity is None:
            return
        self.seen.add(severity)
        slot = self.points.setdefault((id(ax), severity), (ax, [], []))
        slot[1].append(x)
        slot[2].append(y)

    def draw(self) -> None:
        for (_, sev), (ax, xs, ys) in self.points.items():
            ax.plot(xs, ys, ls="", marker="o", ms=10, mfc="none", mec=FLAG_RING[sev], mew=1.6, zorder=5)


def line_ci(ax: Axes, xs: Sequence[float], ys: Sequence[float], lo: Sequence[float], hi: Sequence[float],
            *, colour: str, backend: str, alpha: float = 1.0) -> None:
    """A line with markers and the median's CI as thin vertical bars (one collection, no caps)."""
    ls, mk = backend_style(backend)
    ax.plot(xs, ys, color=colour, ls=ls, marker=mk, alpha=alpha)
    ax.vlines(xs, lo, hi, colors=colour, lw=1.0, alpha=0.8 * alpha)


def panel_title(model: ModelInfo, extra: str = "") -> str:
    name = short_name(model.name, 38)
    return mpl_text(f"{name}{extra}")


def log_if_wide(ax: Axes, values: list[float], axis: str = "y", ratio: float = 20.0) -> None:
    vals = [v for v in values if v and v > 0]
    if vals and max(vals) / min(vals) > ratio:
        log_axis(ax, axis, min(vals), max(vals))


def log_axis(ax: Axes, axis: str, lo: float, hi: float) -> None:
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
        return fmt_si(v, "", 2).replace(" ", "")
    return f"{v:g}"


def mpl_text(text: str) -> str:
    """User text (model and device names) for matplotlib: a '$' must not start mathtext, and
    control or bidi characters must not reach the SVG (see suite.report.format.neutralize)."""
    return neutralize(text, keep="").replace("$", r"\$")


def finish_figure(panels: Panels, fid: str, title: str, caption: str) -> FigureOut:
    fig = panels.fig
    svg = io.BytesIO()
    fig.savefig(svg, format="svg", metadata={"Date": None})
    png = io.BytesIO()
    fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    w, h = fig.get_size_inches()
    return FigureOut(id=fid, title=title, caption=caption, svg=svg.getvalue(), png=png.getvalue(),
                     width_in=float(w), height_in=float(h))
