"""Size budget: 3 devices x 15 models x 2 backends stays under 3 MB, figures included.

Render time is measured by benchmarks/report_render.py, not asserted here (timed tests flake).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from suite.report.html import render_report

MAKE_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "results" / "make_fixtures.py"


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


_FORKED_VS_SERIAL = """
import importlib.util, sys
spec = importlib.util.spec_from_file_location("bench_report_fixtures", sys.argv[1])
mod = importlib.util.module_from_spec(spec); sys.modules[spec.name] = mod; spec.loader.exec_module(mod)
from suite.report import figures
from suite.report.figures import pool
from suite.report.badges import compute_flags
from suite.report.merge import merge_results
data = merge_results(mod.big_results(devices=2, models=4))
flags = compute_flags(data)
assert pool.fork_is_safe(), "a plain process (no threads, no torch) must be allowed to fork"
calls = []
real = pool.map_forked
pool.map_forked = lambda job, costs, n: calls.append(n) or real(job, costs, n)
forked = figures.build_figures(data, flags, workers=2)
serial = figures.build_figures(data, flags, workers=1)
assert calls == [2], calls
assert [f.id for f in forked] == [f.id for f in serial] and len(serial) >= 6, [f.id for f in serial]
# the figure list names each figure by the id it is drawn under, in report order
names = [s.name for s in figures.FIGURES]
assert len(set(names)) == len(names)
assert [f.id for f in serial] == [n for n in names if n in {f.id for f in serial}], [f.id for f in serial]
for a, b in zip(forked, serial):
    assert a.svg == b.svg and a.png == b.png and a.caption == b.caption, a.id
print("same", len(serial))
"""


def test_figures_drawn_in_forked_workers_are_identical_to_serial_ones():
    """The parallel path (taken by `bench report`, a process without torch or threads) gives the
    very bytes the serial path gives, in the same order. In a fresh interpreter: pytest has torch
    loaded, where the suite refuses to fork."""
    import subprocess

    proc = subprocess.run([sys.executable, "-c", _FORKED_VS_SERIAL, str(MAKE_FIXTURES)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.startswith("same ")


def test_no_fork_with_torch_loaded_or_threads_running():
    import threading

    import torch  # noqa: F401  - the state at the end of `bench run`

    from suite.report.figures.pool import fork_is_safe

    assert not fork_is_safe()
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        import sys as _sys

        del _sys.modules["torch"]  # only the thread is left to refuse the fork
        try:
            assert not fork_is_safe()
        finally:
            _sys.modules["torch"] = torch
    finally:
        stop.set()
        worker.join()
