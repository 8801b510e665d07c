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

from suite.report.html import render_report
from suite.results.io import load_many

CHROMIUM = find_chromium()
IN_CI = bool(os.environ.get("CI"))
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None and not IN_CI, reason="Chromium not found (/usr/bin/chromium): run "
                       "`bash scripts/install-chromium.sh` to install Debian's package"),
]

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
        pytest.fail("Chromium not found in CI: install it with `bash scripts/install-chromium.sh`")
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
