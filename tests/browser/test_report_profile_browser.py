"""The profile view (--profile) in real headless Chromium: the side-by-side tables render, sort, and
the explanations show, with no console errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from cdp_pipe import Browser, find_chromium
from service_check import service_missing

from suite.report.html import render_report
from suite.results.io import load_results

CHROMIUM = find_chromium()
pytestmark = [pytest.mark.browser]
FIX = Path(__file__).resolve().parents[1] / "fixtures" / "results" / "profiled-x86.json"


@pytest.fixture(autouse=True)
def _chromium_present() -> None:
    if CHROMIUM is None:
        service_missing("Chromium not found (/usr/bin/chromium): run `bash scripts/install-chromium.sh` to "
                        "install Debian's package")


@pytest.fixture()
def page(tmp_path):
    out = tmp_path / "report.html"
    render_report([(FIX, load_results(FIX))], out)
    b = Browser(CHROMIUM)
    try:
        b.open_page(width=1280, height=900)
        b.navigate(out.resolve().as_uri())
        yield b
    finally:
        b.close()


def test_the_profile_tables_render_sort_and_explain(page):
    sections = page.evaluate("Array.from(document.querySelectorAll('section.profile')).map(s => "
                             "[s.querySelector('h4').textContent, s.querySelectorAll('tbody tr').length, "
                             "s.getBoundingClientRect().height])")
    assert len(sections) == 2 and all(rows >= 5 and height > 100 for _, rows, height in sections)
    table = page.evaluate("document.querySelector('article[id^=model-resnet18] section.profile table').id")
    families = page.evaluate(f"Array.from(document.querySelectorAll('#{table} tbody tr')).map(r => r.cells[0].textContent)")
    assert families[:4] == ["conv", "matmul/gemm", "activation", "norm"]
    heads = page.evaluate(f"Array.from(document.querySelectorAll('#{table} thead tr:last-child th')).map(t => t.textContent)")
    assert heads[0] == "Operator family" and sum(h.startswith("time") for h in heads) == 2
    groups = page.evaluate(f"Array.from(document.querySelectorAll('#{table} thead tr.groups th')).map(t => t.textContent)")
    assert "eager" in groups and "ort" in groups
    # eager's time column (the third header), sorted by a real click: largest last
    rect = page.evaluate(f"(() => {{ const th = document.querySelector('#{table} thead th[data-col=\"2\"]');"
                         " th.scrollIntoView({block: 'center', inline: 'center', behavior: 'instant'});"
                         " const r = th.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()")
    page.click(*rect)
    values = page.evaluate(f"Array.from(document.querySelectorAll('#{table} tbody tr')).map(r => r.cells[2].getAttribute('data-sort'))")
    numbers = [float(v) for v in values if v]
    assert numbers == sorted(numbers) and page.evaluate(f"document.querySelector('#{table} tbody tr:last-child').cells[0].textContent") == "conv"
    notes = page.evaluate("Array.from(document.querySelectorAll('article[id^=model-resnet18] ul.explain li')).map(l => l.textContent)")
    assert any("fused norm (20 calls), activation (17 calls)" in n for n in notes)
    assert page.console_errors() == []
