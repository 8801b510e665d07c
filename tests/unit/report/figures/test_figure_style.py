"""suite.report.figures.style: the figures' look and output. Saved figures are valid PNG (read
back with Pillow) and SVG (parsed as XML), byte-identical when drawn twice; log axes are chosen
by the spread of the data and tick in plain numbers; user text cannot start mathtext."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET

import pytest
from matplotlib import rc_context

from suite.report.figures.style import (
    RC,
    Panels,
    _plain,
    finish_figure,
    log_if_wide,
    mpl_text,
    panel_grid,
)


def _draw():
    with rc_context(RC):
        panels = panel_grid(4)
        for i, ax in enumerate(panels.axes):
            ax.plot([1, 2, 3], [i, i + 1, i * 2])
        panels.outer_labels("batch size", "ms")
        panels.layout(legend_rows=1)
        return panels, finish_figure(panels, "f", "Title", "Caption")


def test_a_figure_is_valid_png_and_svg_and_the_same_bytes_twice():
    from PIL import Image

    panels, fig = _draw()
    png = Image.open(io.BytesIO(fig.png))
    assert png.format == "PNG" and png.size == (round(fig.width_in * 120), round(fig.height_in * 120))
    root = ET.fromstring(fig.svg)
    assert root.tag.endswith("svg")
    assert (fig.width_in, fig.height_in) == tuple(panels.fig.get_size_inches())
    assert _draw()[1].svg == fig.svg  # stable ids (svg.hashsalt), no date


def test_the_grid_hides_unused_panels_and_labels_the_outer_ones():
    panels, _ = _draw()
    assert (panels.nrows, panels.ncols, len(panels.axes)) == (2, 3, 4)
    assert [ax.get_xlabel() for ax in panels.axes] == ["", "batch size", "batch size", "batch size"]
    assert [ax.get_ylabel() for ax in panels.axes] == ["ms", "", "", "ms"]
    assert sum(ax.get_visible() for ax in panels.fig.axes) == 4


@pytest.mark.parametrize("values, scale", [([1, 10, 19.9], "linear"), ([1, 10, 21], "log"), ([0, 0.5, 5], "linear")])
def test_a_log_axis_only_past_a_twentyfold_spread(values, scale):
    panels = Panels(1, ncols=1)
    log_if_wide(panels.axes[0], values)
    assert panels.axes[0].get_yscale() == scale


def test_ticks_read_as_plain_numbers_and_user_text_is_inert():
    assert [_plain(v) for v in (0.5, 200.0, 2000.0)] == ["0.5", "200", "2000"]
    assert _plain(20000.0).startswith("20") and "e" not in _plain(20000.0)
    assert mpl_text("cost $5 $x^2$") == r"cost \$5 \$x^2\$"
    assert "\x1b" not in mpl_text("evil\x1b[31m") and "\u202e" not in mpl_text("a\u202eb")
