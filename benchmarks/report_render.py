"""Time `bench report` on the size-budget set: 3 devices x 15 models x 2 backends x 4 batches.

    python benchmarks/report_render.py [--repeat 3] [--devices 3] [--models 15] [--keep DIR]

Prints the time of each stage (merge + flags + tables, figures, HTML/Markdown/CSV writing) and
the size of the HTML. The issue's targets: under 3 MB, rendered in under 2 s. The size is also
asserted by tests/unit/test_report_size.py; time is only measured here (timed tests are flaky).
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
    args = ap.parse_args()

    sys.path.insert(0, str(ROOT))
    from suite.report import html as report_html
    from suite.report.flags import compute_flags
    from suite.report.merge import merge_results
    from suite.report.plots import build_figures
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
