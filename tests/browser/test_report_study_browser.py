"""The "Accuracy vs efficiency" section in real headless Chromium: reachable from the contents,
visible, its four figures decoded and drawn at their size, its tables filled and sortable.

Skipped on a workstation without Chromium, as the other browser tests; in CI (CI set) a missing
Chromium fails instead, so that the section is never silently left untested there. Set
BENCH_STUDY_SCREENSHOT=path.png to keep a screenshot of the section.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cdp_pipe import Browser, find_chromium
from service_check import service_missing

from suite.report.html import render_report
from suite.results.io import load_many

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.browser]

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results"
LAB2 = [FIX / "lab2-study.json", FIX / "lab2-study-rpi5.json"]
STUDY_FIGS = ("study-flops-accuracy", "study-latency-accuracy", "study-flops-latency", "study-pareto")


@pytest.fixture(scope="module")
def study_html(tmp_path_factory) -> Path:
    good, bad = load_many(LAB2)
    out = tmp_path_factory.mktemp("study-browser") / "report.html"
    render_report(good, out, bad_files=bad)
    return out


@pytest.fixture()
def browser():
    if CHROMIUM is None:
        service_missing("Chromium not found (/usr/bin/chromium): run `bash scripts/install-chromium.sh` to install "
                        "Debian's package")
    b = Browser(CHROMIUM)
    try:
        yield b
    finally:
        b.close()


def test_section_and_its_figures_are_visible(browser, study_html):
    browser.open_page(width=1280, height=900)
    browser.navigate(study_html.resolve().as_uri())
    assert browser.console_errors() == []
    assert browser.evaluate("!!document.querySelector('nav.toc a[href=\"#accuracy-efficiency\"]')")
    browser.evaluate("document.getElementById('accuracy-efficiency').scrollIntoView({behavior: 'instant'})")
    browser.pump(0.3)
    box = browser.evaluate("(() => { const r = document.getElementById('accuracy-efficiency')"
                           ".getBoundingClientRect(); return [r.top, r.width, r.height]; })()")
    assert abs(box[0]) < 5 and box[1] > 600 and box[2] > 2000  # at the top of the view, wide, long
    figs = browser.evaluate(
        "Array.from(document.querySelectorAll('#accuracy-efficiency figure')).map(f => { const i = f.querySelector"
        "('img'); const r = i.getBoundingClientRect(); return [f.id, i.complete, i.naturalWidth, r.width, r.height,"
        " getComputedStyle(f).visibility]; })")
    assert [f[0] for f in figs] == [f"fig-{fid}" for fid in STUDY_FIGS]
    for fid, complete, natural, w, h, vis in figs:
        assert complete and natural > 0 and w > 300 and h > 200 and vis == "visible", fid
    rows = browser.evaluate("['study-points', 'study-energy', 'study-accuracy-changes'].map(n => "
                            "document.querySelectorAll('#table-' + n + ' tbody tr').length)")
    assert rows == [72, 72, 48]
    text = browser.evaluate("document.getElementById('accuracy-efficiency').innerText")
    assert "Energy and carbon per inference" in text and "Paired accuracy changes" in text
    keep = os.environ.get("BENCH_STUDY_SCREENSHOT")
    if keep:
        browser.screenshot(Path(keep))


def test_points_table_sorts_by_accuracy(browser, study_html):
    browser.open_page(width=1280, height=900)
    browser.navigate(study_html.resolve().as_uri())
    heads = browser.evaluate("Array.from(document.querySelectorAll('#table-study-points thead th'))"
                             ".map(t => t.textContent)")
    col = heads.index("Accuracy")
    rect = browser.evaluate(
        f"(() => {{ const th = document.querySelector('#table-study-points thead th[data-col=\"{col}\"]');"
        f" th.scrollIntoView({{block: 'center', inline: 'center', behavior: 'instant'}});"
        f" const r = th.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
    browser.click(*rect)
    values = [float(v) for v in browser.evaluate(
        f"Array.from(document.querySelectorAll('#table-study-points tbody tr')).map(r => "
        f"r.cells[{col}].getAttribute('data-sort'))")]
    assert values == sorted(values) and values[0] < values[-1]
    assert browser.console_errors() == []


def test_the_lab2_preset_end_to_end_in_chromium(browser, tmp_path):
    """`bench run --preset lab2` as a fresh user runs it (offline: the digits and their trained
    CNNs), then the report's three plots, Pareto fronts and energy table in real Chromium."""
    import json
    import subprocess
    import sys

    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="200")
    exe = Path(sys.executable).parent / "bench"
    res = subprocess.run([str(exe), "run", "--preset", "lab2", "-o", str(tmp_path)], capture_output=True,
                         text=True, env=env, timeout=1200)
    assert res.returncode == 0, res.stderr[-3000:] + res.stdout[-3000:]
    data = json.loads(next(tmp_path.glob("results-*.json")).read_text())
    points = [c for c in data["cases"] if c["accuracy"]]
    assert len(points) == 2 * 3 * 2 * 3 and all(c["status"] == "ok" for c in data["cases"])
    browser.open_page(width=1280, height=900)
    browser.navigate((tmp_path / "report.html").resolve().as_uri())
    assert browser.console_errors() == []
    figs = browser.evaluate(
        "Array.from(document.querySelectorAll('#accuracy-efficiency figure')).map(f => { const i = f.querySelector"
        "('img'); return [f.id, i.complete, i.naturalWidth]; })")
    assert [f[0] for f in figs] == [f"fig-{fid}" for fid in STUDY_FIGS] and all(f[1] and f[2] > 0 for f in figs)
    rows = browser.evaluate("['study-points', 'study-energy'].map(n => "
                            "document.querySelectorAll('#table-' + n + ' tbody tr').length)")
    assert rows == [36, 36]
    text = browser.evaluate("document.getElementById('accuracy-efficiency').innerText")
    assert "Pareto" in text and "kWh" in text and "CO" in text
