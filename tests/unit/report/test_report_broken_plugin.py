"""A broken backend plugin never stops `bench report` (issue 20, item 5).

The report draws backends from its own style table (suite/report/backend_style.py) and imports no
backend, so a plugin that cannot even be loaded is never touched by a report, and a backend that no
installed table knows (a plugin's, read from someone else's results file) is drawn in the default
style. The plugin here is installed the way a real one is: a distribution on the path whose
`bench.backends` entry point names a module, here one that raises as soon as it is imported.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from console_script import installed_bench, script_env

from suite.report.backend_style import STYLES, UNKNOWN, backend_order, backend_style
from suite.results.io import load_results, save_results

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "results"
PLUGIN = "npu-broken"  # the backend the broken plugin would add
RENAMED = "ort"  # the fixture's backend that the foreign results file calls PLUGIN


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory) -> Path:
    """A folder holding an installed distribution whose bench.backends entry point raises on load."""
    site = tmp_path_factory.mktemp("broken-plugin")
    dist = site / "bench_broken_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-broken-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[bench.backends]\n{PLUGIN} = bench_broken_plugin:BACKEND\n")
    (site / "bench_broken_plugin.py").write_text('raise RuntimeError("bench_broken_plugin cannot be imported")\n')
    return site


def _with_plugin(site: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(site)}


def test_the_plugin_is_installed_and_breaks_whatever_loads_the_backend_table(broken_site):
    # The control: with this environment, reading the backends table (what `bench run` does) fails
    # on the plugin. Without it the report tests below would prove nothing.
    probe = "from suite.backends import backends\nbackends()\n"
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                         env=script_env(_with_plugin(broken_site)), check=False)
    assert res.returncode != 0
    assert f"The backend plugin '{PLUGIN}' (bench_broken_plugin:BACKEND) cannot be loaded" in res.stderr
    assert "bench_broken_plugin cannot be imported" in res.stderr


def _tables(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.csv"))}


def test_a_broken_plugin_does_not_stop_the_report_of_a_file_that_does_not_use_it(broken_site, tmp_path):
    res = installed_bench("report", str(FIX / "laptop-x86.json"), "-o", str(tmp_path / "with" / "report.html"),
                          env_extra=_with_plugin(broken_site))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr and "bench_broken_plugin" not in res.stdout + res.stderr
    out = tmp_path / "with"
    assert (out / "report.html").stat().st_size > 0 and (out / "report.md").stat().st_size > 0
    assert sorted(p.name for p in (out / "report-figures").glob("*.svg"))  # the figures were drawn too
    # ... and it is the report this file gets without the plugin: the same tables, byte for byte.
    plain = installed_bench("report", str(FIX / "laptop-x86.json"), "-o", str(tmp_path / "without" / "report.html"),
                            "--no-figures")
    assert plain.returncode == 0, plain.stdout + plain.stderr
    with_plugin = _tables(out / "report-tables")
    assert with_plugin and with_plugin == _tables(tmp_path / "without" / "report-tables")


def _foreign_results(path: Path) -> Path:
    """laptop-x86.json as a machine with the plugin would have written it: its ORT cases (and the
    comparisons of them) measured with the plugin's backend instead."""
    run = load_results(FIX / "laptop-x86.json")
    cases = []
    for c in run.cases:
        if c.spec.backend == RENAMED:
            spec = c.spec.model_copy(update={"backend": PLUGIN})
            c = c.model_copy(update={"spec": spec, "id": spec.case_id})
        cases.append(c)
    comparisons = [cmp.model_copy(update={"candidate_backend": PLUGIN}) if cmp.candidate_backend == RENAMED else cmp
                   for cmp in run.comparisons]
    save_results(run.model_copy(update={"cases": cases, "comparisons": comparisons}), path)
    load_results(path)  # a valid results file
    return path


# A matplotlib "D" marker in an SVG: a diamond, each vertex on an axis.
DIAMOND = re.compile(r'd="M -?0 ([\d.]+)\s*L \1 0\s*L 0 -\1\s*L -\1 -?0\s*z\s*"')


def test_a_backend_no_table_knows_is_reported_in_the_default_style(broken_site, tmp_path):
    foreign = _foreign_results(tmp_path / "foreign.json")
    res = installed_bench("report", str(foreign), "-o", str(tmp_path / "out" / "report.html"),
                          env_extra=_with_plugin(broken_site))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Traceback" not in res.stdout + res.stderr
    tables = tmp_path / "out" / "report-tables"
    # Its cases are all there, each model's after eager's (the default style sorts after the known backends).
    rows = [ln.split(",") for ln in (tables / "cases.csv").read_text(encoding="utf-8").splitlines()[1:]]
    backends_per_model: dict[str, list[str]] = {}
    for r in rows:
        backends_per_model.setdefault(r[0], []).append(r[2])
    assert sum(b.count(PLUGIN) for b in backends_per_model.values()) == sum(
        c.spec.backend == RENAMED for c in load_results(FIX / "laptop-x86.json").cases)
    for model, names in backends_per_model.items():
        if PLUGIN in names and "eager" in names:
            assert names.index("eager") < names.index(PLUGIN), (model, names)
    header = (tables / "matrix.csv").read_text(encoding="utf-8").splitlines()[0]
    assert f"_{PLUGIN}_median_ms" in header and f"_{PLUGIN}_ratio" in header
    # The figures draw it with the default marker (a diamond no known backend uses).
    svg = (tmp_path / "out" / "report-figures" / "latency-vs-batch.svg").read_text(encoding="utf-8")
    assert PLUGIN in svg and DIAMOND.search(svg)
    plain = installed_bench("report", str(FIX / "laptop-x86.json"), "-o", str(tmp_path / "known" / "report.html"))
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert not DIAMOND.search((tmp_path / "known" / "report-figures" / "latency-vs-batch.svg").read_text("utf-8"))


def test_the_default_style_is_the_one_no_known_backend_has():
    assert PLUGIN not in STYLES
    assert backend_style(PLUGIN) == (UNKNOWN.linestyle, UNKNOWN.marker) == ("-.", "D")
    assert all(s.marker != UNKNOWN.marker for s in STYLES.values())
    assert sorted([PLUGIN, *STYLES], key=backend_order)[-1] == PLUGIN
