"""The sustained timeline figure (suite/report/figures/timeline.py): drawn from the stored windows,
throttled windows shaded, left out when no case has a timeline."""

from __future__ import annotations

from suite.report.figures.common import Ctx
from suite.report.figures.timeline import THROTTLE_SHADE, sustained_timeline
from suite.report.merge import merge_results
from tests.report_builders import case, run, steady
from tests.unit.report.tables.test_app_view import sustained_data


def ctx(data) -> Ctx:
    return Ctx(data, {}, {id(d): "#000" for d in data.devices}, 20)


def test_the_timeline_is_drawn_with_its_throttled_windows_shaded() -> None:
    from matplotlib import rc_context

    from suite.report.figures.style import RC

    with rc_context(RC):
        fig = sustained_timeline(ctx(sustained_data()))
    assert fig is not None and fig.id == "sustained-timeline" and fig.png.startswith(b"\x89PNG")
    assert THROTTLE_SHADE.lstrip("#").encode() in fig.svg.lower()  # the shaded spans are in the drawing


def test_no_timeline_no_figure() -> None:
    assert sustained_timeline(ctx(merge_results([run([case("resnet18", 1, steady(1.0))])]))) is None
