"""The sustained runs' timelines (--sustain): per case, the window medians and the CPU temperature
against time, the windows that ended throttled shaded."""

from __future__ import annotations

from suite.report.figures.common import Ctx, FigureOut
from suite.report.figures.style import Panels, finish_figure, mpl_text
from suite.report.format import short_name

MAX_PANELS = 12
THROTTLE_SHADE = "#f4c7c3"
LATENCY_COLOUR, TEMP_COLOUR = "#1f5fa8", "#c2410c"


def sustained_timeline(ctx: Ctx) -> FigureOut | None:
    entries = [e for e in ctx.data.entries if e.case.sustained is not None and e.case.sustained.windows]
    if not entries:
        return None
    shown = entries[:MAX_PANELS]
    panels = Panels(len(shown), ncols=2, w=4.8, h=2.7, left=0.7, wgap=1.3)
    for ax, e in zip(panels.axes, shown):
        s = e.case.sustained
        assert s is not None
        mids = [(w.start_s + w.end_s) / 2 for w in s.windows]
        for w in s.windows:
            if w.throttled:
                ax.axvspan(w.start_s, w.end_s, color=THROTTLE_SHADE, lw=0, zorder=0)
        ax.plot(mids, [w.median_ms for w in s.windows], color=LATENCY_COLOUR, lw=1.2)
        ax.set_ylabel("median ms / window", color=LATENCY_COLOUR)
        ax.set_xlabel("seconds of sustained load")
        title = f"{short_name(e.spec.model, 22)} · {e.backend} · b{e.spec.batch_size} · {e.device.label}"
        ax.set_title(mpl_text(title), fontsize=8)
        temps = [(m, w.cpu_temp_c) for m, w in zip(mids, s.windows) if w.cpu_temp_c is not None]
        if temps:
            twin = ax.twinx()
            twin.plot([t[0] for t in temps], [t[1] for t in temps], color=TEMP_COLOUR, lw=1.0, ls="--")
            twin.set_ylabel("CPU °C", color=TEMP_COLOUR)
            twin.grid(False)
        if s.time_to_throttle_s is not None:
            ax.axvline(s.time_to_throttle_s, color="#991b1b", lw=0.8, ls=":")
    panels.layout(0)
    width = panels.fig.get_size_inches()[0]
    panels.fig.subplots_adjust(right=1 - 0.75 / width)  # room for the temperature axis on the right
    more = f" The first {MAX_PANELS} of {len(entries)} sustained cases are shown." if len(entries) > MAX_PANELS else ""
    return finish_figure(panels, "sustained-timeline", "Sustained load: latency and temperature over time",
                         "Each window's median latency (solid, left axis) and the CPU temperature at its end (dashed, "
                         "right axis); windows that ended throttled are shaded, the dotted line marks the first."
                         + more)
