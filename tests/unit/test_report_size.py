"""Size budget: 3 devices x 15 models x 2 backends stays under 3 MB, figures included.

Render time is measured by benchmarks/report_render.py, not asserted here (timed tests flake).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from suite.report.html import render_report

MAKE_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "make_fixtures.py"


def _fixtures():
    spec = importlib.util.spec_from_file_location("bench_report_fixtures", MAKE_FIXTURES)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def test_three_devices_fifteen_models_two_backends_under_3_mb(tmp_path):
    runs = _fixtures().big_results(devices=3, models=15)
    assert sum(len(r.cases) for r in runs) == 3 * 15 * 2 * 4
    res = render_report(runs, tmp_path / "big.html")
    size = res.html.stat().st_size
    assert size == res.html_bytes
    assert size < 3_000_000, f"{size:,} bytes"
    html = res.html.read_text(encoding="utf-8")
    # everything is in it: 15 model sections, every figure, a 3-device matrix
    assert html.count('<article class="model"') == 15
    assert html.count("data:image/svg+xml;base64,") == len(res.figures) // 2 >= 7
    assert html.count('scope="colgroup"') == 4
