"""Time `bench report` on the size-budget set: 3 devices x 15 models x 2 backends x 4 batches.

    python benchmarks/report_render.py [--repeat 3] [--devices 3] [--models 15] [--keep DIR]

Prints the time of each stage (merge + flags + tables, figures, HTML/Markdown/CSV writing) and
the size of the HTML, and with --browser the page's load time in headless Chromium. The issue's
targets: under 3 MB, rendered in under 2 s. The size is also
asserted by tests/unit/report/test_report_size.py; time is only measured here (timed tests are flaky).
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _fixtures():
    path = ROOT / "tests" / "fixtures" / "results" / "make_fixtures.py"
    spec = importlib.util.spec_from_file_location("bench_report_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules[spec.name] = mod  # dataclasses look their module up while the class is built
    spec.loader.exec_module(mod)
    return mod


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--devices", type=int, default=3)
    ap.add_argument("--models", type=int, default=15)
    ap.add_argument("--keep", type=Path, help="write the report here instead of a temporary folder")
    ap.add_argument("--browser", action="store_true",
                    help="also load the report in headless Chromium and time it (navigation to load event)")
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from suite.report import html as report_html
    from suite.report.badges import compute_flags
    from suite.report.figures import build_figures
    from suite.report.merge import merge_results
    from suite.report.tables import build_tables
    from suite.results.io import dumps, load_many

    runs = _fixtures().big_results(devices=args.devices, models=args.models)
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "results"
        src.mkdir()
        for r in runs:
            (src / f"{r.run_id}.json").write_text(dumps(r), encoding="utf-8")
        out = (args.keep or Path(tmp) / "out") / "report.html"

        t0 = time.perf_counter()
        import matplotlib
        import matplotlib.figure  # noqa: F401
        t_import = time.perf_counter() - t0

        rows = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            good, _bad = load_many([src])
            t_load = time.perf_counter() - t
            t = time.perf_counter()
            data = merge_results(good)
            flags = compute_flags(data)
            build_tables(data, flags)
            t_model = time.perf_counter() - t
            t = time.perf_counter()
            build_figures(data, flags)
            t_figs = time.perf_counter() - t
            t = time.perf_counter()
            res = report_html.render_report(good, out)
            t_all = time.perf_counter() - t
            t = time.perf_counter()
            res_nofig = report_html.render_report(good, out.with_name("nofig.html"), figures=False)
            t_nofig = time.perf_counter() - t
            rows.append((t_load, t_model, t_figs, t_all, t_nofig))
        n_cases = sum(len(r.cases) for r in runs)
        print(f"{args.devices} devices x {args.models} models x 2 backends x 4 batches = {n_cases} cases")
        print(f"matplotlib import (once per process): {t_import:.2f} s")
        names = ["load files", "merge+flags+tables", "figures", "render_report (all formats, figures)",
                 "render_report (figures=False)"]
        for i, name in enumerate(names):
            vals = [r[i] for r in rows]
            print(f"{name:40s} median {statistics.median(vals):6.2f} s   (runs: {', '.join(f'{v:.2f}' for v in vals)})")
        print(f"HTML size: {res.html_bytes / 2**20:.2f} MiB ({res.html_bytes:,} bytes); without figures "
              f"{res_nofig.html_bytes / 2**20:.2f} MiB; files written: {len(res.paths())}")
        if args.browser:
            _time_in_browser(res.html, args.repeat)
    return 0


def _time_in_browser(html: Path, repeat: int) -> None:
    """Load the page in real headless Chromium (tests/browser/cdp_pipe.py) and read the page's own
    Navigation Timing: from the start of navigation to the end of the load event (HTML parsed,
    every inline figure decoded, the table script run)."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from cdp_pipe import Browser, find_chromium

    exe = find_chromium()
    if exe is None:
        print("browser: no Chromium found (scripts/install-chromium.sh)")
        return
    loads, paints = [], []
    with Browser(exe) as b:
        b.open_page()
        for _ in range(repeat):
            b.navigate("about:blank")
            b.navigate(html.resolve().as_uri())
            t = b.evaluate("(() => { const n = performance.getEntriesByType('navigation')[0];"
                           " const p = performance.getEntriesByName('first-contentful-paint')[0];"
                           " return [n.loadEventEnd, p ? p.startTime : null]; })()")
            loads.append(t[0] / 1000)
            if t[1] is not None:
                paints.append(t[1] / 1000)
    line = f"{'browser: navigation to load event end':40s} median {statistics.median(loads):6.2f} s   (runs: "
    print(line + ", ".join(f"{v:.2f}" for v in loads) + ")")
    if paints:
        print(f"{'browser: first contentful paint':40s} median {statistics.median(paints):6.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
