"""The report in real headless Chromium: no console errors, no network, sorting works, it looks
like something (not a blank page) on a desktop and on a phone, and hostile names stay text.

Chromium is Debian's package (`bash scripts/install-chromium.sh`), driven over the DevTools
protocol on a pipe (cdp_pipe.py): no driver, no browser download.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from cdp_pipe import Browser, find_chromium
from service_check import service_missing

from suite.report.html import render_report
from suite.results.io import load_many, load_results

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.browser]


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    if CHROMIUM is None:
        service_missing("Chromium not found (/usr/bin/chromium): run `bash scripts/install-chromium.sh` to "
                        "install Debian's package")

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results"
DEVICE_FILES = [FIX / "laptop-x86.json", FIX / "jetson-orin.json", FIX / "rpi5.json"]


@pytest.fixture(scope="module")
def report_html(tmp_path_factory) -> Path:
    good, bad = load_many([*DEVICE_FILES, FIX / "bad"])
    out = tmp_path_factory.mktemp("browser") / "report.html"
    render_report(good, out, bad_files=bad)
    return out


@pytest.fixture()
def browser():
    b = Browser(CHROMIUM)
    try:
        yield b
    finally:
        b.close()


def _loaded(browser: Browser, html: Path, width: int = 1280, height: int = 900) -> None:
    browser.open_page(width=width, height=height, mobile=width < 600)
    browser.navigate(html.resolve().as_uri())


def test_loads_with_no_console_errors_and_no_network(browser, report_html):
    _loaded(browser, report_html)
    assert browser.console_errors() == []
    assert browser.dialogs() == []
    own = report_html.resolve().as_uri()
    others = [u for u in browser.requests() if u != own and not u.startswith("data:")]
    assert others == [], others
    # every inline figure decoded (an SVG that failed to parse has naturalWidth 0)
    sizes = browser.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
    assert len(sizes) == 12 and all(done and w > 0 for done, w in sizes)  # 8 + the accuracy section's 4
    assert browser.evaluate("document.title") == "Inference benchmark report"


def _column(browser: Browser, table_id: str, col: int) -> list[str | None]:
    return browser.evaluate(
        f"Array.from(document.querySelectorAll('#{table_id} tbody tr')).map(r => "
        f"r.cells[{col}].getAttribute('data-sort') ?? r.cells[{col}].textContent.trim())")


def _click_header(browser: Browser, table_id: str, col: int) -> None:
    """A real mouse click in the middle of the header cell."""
    rect = browser.evaluate(
        f"(() => {{ const th = document.querySelector('#{table_id} thead th[data-col=\"{col}\"]');"
        f" th.scrollIntoView({{block: 'center', inline: 'center', behavior: 'instant'}});"
        f" const r = th.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()")
    browser.click(*rect)


def test_clicking_a_header_sorts_the_rows(browser, report_html):
    _loaded(browser, report_html)
    table = browser.evaluate("document.querySelector('article[id^=model-resnet18] table').id")
    heads = browser.evaluate(f"Array.from(document.querySelectorAll('#{table} thead th')).map(t => t.textContent)")
    median_col = next(i for i, h in enumerate(heads) if h.startswith("Median"))
    device_col = next(i for i, h in enumerate(heads) if h.startswith("Device"))
    before = [float(v) for v in _column(browser, table, median_col)]
    assert before != sorted(before)  # rows start in (size, batch, device) order, not by latency

    _click_header(browser, table, median_col)
    after = [float(v) for v in _column(browser, table, median_col)]
    assert after == sorted(before)
    assert browser.evaluate(f"document.querySelector('#{table} th[data-col=\"{median_col}\"]')"
                            ".getAttribute('aria-sort')") == "ascending"
    _click_header(browser, table, median_col)
    assert [float(v) for v in _column(browser, table, median_col)] == sorted(before, reverse=True)

    _click_header(browser, table, device_col)
    names = _column(browser, table, device_col)
    assert names == sorted(names, key=str.lower) and len(set(names)) == 3
    assert browser.console_errors() == []


def test_failed_case_with_no_number_sorts_last(browser, report_html):
    _loaded(browser, report_html)
    table = browser.evaluate("document.querySelector('article[id^=model-albert] table').id")
    heads = browser.evaluate(f"Array.from(document.querySelectorAll('#{table} thead th')).map(t => t.textContent)")
    col = next(i for i, h in enumerate(heads) if h.startswith("Median"))
    for _ in range(2):  # ascending, then descending: the failed case stays at the bottom
        _click_header(browser, table, col)
        values = _column(browser, table, col)
        assert values[-1] == "" and "" not in values[:-1]


def _not_blank(png: bytes) -> None:
    from PIL import Image

    im = Image.open(io.BytesIO(png)).convert("RGB")
    colours = im.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text, header, cards: not one flat colour
    dominant = max(colours)[0] / (im.size[0] * im.size[1])
    assert dominant < 0.95
    # the header band is the dark blue of the design, the body white with dark text
    r, _g, b = im.getpixel((im.size[0] // 2, 8))
    assert b > 100 and r < 60


def test_screenshots_desktop_and_phone(browser, report_html, tmp_path):
    _loaded(browser, report_html)
    _not_blank(browser.screenshot(tmp_path / "desktop.png"))
    browser.close()

    phone = Browser(CHROMIUM)
    try:
        _loaded(phone, report_html, width=390, height=844)
        _not_blank(phone.screenshot(tmp_path / "phone.png"))
        # readable on a phone: the page itself does not scroll sideways (wide tables scroll inside
        # their own box), and the contents start folded
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        assert phone.evaluate("document.querySelector('nav.toc details').open") is False
        assert phone.console_errors() == []
    finally:
        phone.close()


def test_print_layout_hides_navigation_and_fits_tables_on_the_page(browser, report_html):
    # A4 landscape minus the 9 mm margins is about 1050 CSS px wide
    _loaded(browser, report_html, width=1050)
    browser.send("Emulation.setEmulatedMedia", {"media": "print"})
    widths = browser.evaluate("Array.from(document.querySelectorAll('table')).map(t => t.scrollWidth)")
    assert len(widths) > 5 and max(widths) <= 1050, max(widths)
    assert browser.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    assert browser.evaluate("getComputedStyle(document.querySelector('.table-wrap')).overflowX") == "visible"


def test_prints_to_pdf(browser, report_html):
    import base64
    import re

    _loaded(browser, report_html)
    pdf = base64.b64decode(
        browser.send("Page.printToPDF", {"printBackground": True, "preferCSSPageSize": True})["data"])
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 5  # tables and nine figures do not fit on a page or two
    assert browser.console_errors() == []


def test_markup_in_names_stays_text_in_the_browser(browser, tmp_path):
    out = tmp_path / "xss.html"
    render_report([(FIX / "xss.json", load_results(FIX / "xss.json"))], out)
    _loaded(browser, out)
    browser.pump(0.5)
    assert browser.dialogs() == []  # no alert() ran
    assert browser.console_errors() == []
    text = browser.evaluate("document.body.innerText")
    assert "<script>alert(1)</script>" in text
    assert "<img src=x onerror=alert(2)>" in text
    # nothing from the file became an element
    assert browser.evaluate("document.querySelectorAll('b, i, svg, script:not(:last-of-type)').length") == 0
    assert browser.evaluate("Array.from(document.images).every(i => i.src.startsWith('data:image/svg+xml'))")
    assert browser.evaluate("document.scripts.length") == 1


def _with_roofline(run):
    """laptop-x86 as a run with ceilings would store it: its environment gets measured-looking peaks
    and every timed case its roofline (suite.metrics.roofline.roofline_for, the runner's own code),
    from the case's counted FLOPs and median, with a weights + activations traffic of the case."""
    from datetime import datetime, timezone

    from suite.metrics.roofline import Traffic, roofline_for
    from suite.results.schema import DevicePeaks, PeakFigure

    peaks = DevicePeaks(device="cpu", threads=2, gemm_flops_s=2.0e11, bandwidth_bytes_s=4.0e10,
                        gemm={"torch.mm": PeakFigure(value=2.0e11, spread=0.02, repeats=5, size=1024,
                                                     method="torch.mm")},
                        bandwidth={"triad": PeakFigure(value=4.0e10, spread=0.03, repeats=5, method="triad")},
                        measured_at=datetime(2026, 11, 28, tzinfo=timezone.utc), duration_s=2.5)
    cases = []
    for c in run.cases:
        if c.flops is not None and c.flops.flops and c.latency is not None and c.latency.summary.median_ms:
            traffic = Traffic(weight_bytes=4 * (c.params.unique if c.params else 1_000_000),
                              activation_read_bytes=c.flops.flops // 40, activation_write_bytes=c.flops.flops // 40)
            c = c.model_copy(update={"roofline": roofline_for(c.flops.flops, traffic, c.latency.summary.median_ms,
                                                              peaks)})
        cases.append(c)
    env = run.environment.model_copy(update={"peaks": [peaks]})
    return run.model_copy(update={"environment": env, "cases": cases})


def test_roofline_figure_and_roof_column_render(browser, tmp_path):
    path = FIX / "laptop-x86.json"
    run = _with_roofline(load_results(path))
    assert sum(c.roofline is not None for c in run.cases) >= 4
    out = tmp_path / "roofline.html"
    render_report([(path, run)], out)
    _loaded(browser, out)
    assert browser.console_errors() == []
    # the roofline figure is in the page and its inline SVG decoded
    fig = browser.evaluate("(() => { const f = document.getElementById('fig-roofline'); if (!f) return null;"
                           " const i = f.querySelector('img'); return i ? [i.complete, i.naturalWidth] : 'no img'; })()")
    assert fig is not None and fig != "no img", fig
    assert fig[0] and fig[1] > 0
    # and it is there because of the rooflines: the same file without them has no such figure
    plain = tmp_path / "plain.html"
    render_report([(path, load_results(path))], plain)
    _loaded(browser, plain)
    assert browser.evaluate("document.getElementById('fig-roofline')") is None
