"""The backend table: one place that config, plan, preflight, the report and the CLI read,
and plugins that register through the `bench.backends` entry point group."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from suite import backends as table
from suite.config.bench_config import validate_config
from suite.errors import BenchError, ConfigError

FIXTURES = Path(__file__).parents[2] / "fixtures"
PLUGINS = FIXTURES / "plugins"


def test_every_builtin_backend_is_complete_and_importable():
    import importlib

    for info in table.BUILTIN:
        module, _, func = info.prepare.partition(":")
        assert callable(getattr(importlib.import_module(module), func)), info.name
        if info.options:
            assert info.options_key, info.name
        assert info.runs_torch_models or info.runs_onnx_files, info.name
    assert [b.name for b in table.BUILTIN if b.reference] == ["eager"]


def test_the_reports_style_table_orders_and_tells_apart_every_builtin_backend():
    from suite.report.backend_style import STYLES, backend_order, backend_style
    from suite.results.schema import REFERENCE_BACKEND

    names = ["torch-compile", "ort-int8", "eager", "mystery", "ort"]
    assert sorted(names, key=backend_order) == ["eager", "ort", "ort-int8", "torch-compile", "mystery"]
    assert backend_style("ort") == ("--", "s")
    assert backend_style("mystery") == ("-.", "D")
    assert set(STYLES) == {b.name for b in table.BUILTIN}  # a new built-in backend gets its style row
    assert len({backend_style(n) for n in STYLES}) == len(STYLES)  # told apart
    assert table.reference_backend() == REFERENCE_BACKEND


def test_config_accepts_exactly_the_table_and_each_backend_gets_its_options():
    cfg = validate_config({"models": ["resnet18"], "backends": list(table.backends()),
                           "ort": {"opset": 17}, "torch_compile": {"mode": "max-autotune"}})
    assert cfg.options_for("ort").opset == 17
    assert cfg.options_for("torch_compile").mode == "max-autotune"
    assert cfg.options_for(None) is None
    with pytest.raises(ConfigError, match="did you mean torch-compile"):
        validate_config({"models": ["resnet18"], "backends": ["torch_compile"]})
    with pytest.raises(BenchError, match="Unknown backend 'ortt'.*did you mean ort"):
        table.backend_info("ortt")


def test_a_results_file_config_with_a_top_level_ort_section_still_validates():
    """Configs saved by schema v1 files hold `ort` at the top level; resuming them must work."""
    saved = {"models": [{"name": "resnet18"}], "backends": ["eager", "ort"], "ort": {"exporter": "torchscript"}}
    cfg = validate_config(saved)
    again = validate_config(cfg.model_dump(mode="json"))
    assert again.options_for("ort").exporter == "torchscript" and again.digest() == cfg.digest()


def test_plan_keeps_onnx_files_to_backends_that_run_them(onnx_dir):
    from suite.plan.sweep import plan_cases

    model = onnx_dir / "tiny_mlp.onnx"
    cfg = validate_config({"models": [str(model)], "backends": ["eager", "ort", "torch-compile"]})
    assert {c.spec.backend for c in plan_cases(cfg, 1)} == {"ort"}
    cfg = validate_config({"models": [str(model)], "backends": ["eager", "torch-compile"]})
    with pytest.raises(BenchError, match="an ONNX file needs one of ort, ort-int8"):
        plan_cases(cfg, 1)


def _bench(args: list[str], tmp_path: Path, plugin: bool = True) -> subprocess.CompletedProcess:
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="200")
    if plugin:
        env["PYTHONPATH"] = os.pathsep.join([str(PLUGINS), env.get("PYTHONPATH", "")])
    return subprocess.run([sys.executable, "-m", "suite", *args], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=600)


def test_a_plugin_backend_registers_by_entry_point_and_goes_through_the_parity_step(tmp_path):
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[timing]\nwarmup_max = 3\nmin_iters = 5\nmin_time_s = 0\nmax_time_s = 0.3\n")
    model = FIXTURES / "models" / "tiny_user_model.py"
    res = _bench(["run", "-c", str(cfg), "-m", str(model), "--backends", "eager,off-by-one", "-b", "1",
                  "--no-energy", "--inline", "-o", str(tmp_path / "out")], tmp_path)
    assert res.returncode == 0, res.stderr + res.stdout
    data = json.loads(next((tmp_path / "out").glob("results-*.json")).read_text())
    cases = {c["spec"]["backend"]: c for c in data["cases"]}
    assert cases["eager"]["status"] == "ok" and cases["eager"]["parity"] is None
    bad = cases["off-by-one"]
    # Eager's logits of a random tiny model are ~0.1: adding one is a relative error far above 1e-3.
    assert bad["status"] == "parity_failed" and bad["parity"]["reference_backend"] == "eager"
    assert bad["parity"]["max_abs_error"] == pytest.approx(1.0, rel=1e-5)
    # The report (written at the end of the run) shows the plugin's case with its parity flag.
    html = (tmp_path / "out" / "report.html").read_text()
    assert "off-by-one" in html and "parity" in html
    # Without the plugin installed, the name is unknown and the run is refused up front.
    res = _bench(["run", "-m", str(model), "--backends", "off-by-one", "-o", str(tmp_path / "o2")], tmp_path,
                 plugin=False)
    assert res.returncode == 2 and "unknown backend 'off-by-one'" in res.stderr + res.stdout
    assert "Traceback" not in res.stderr + res.stdout


def test_a_plugin_declares_how_its_pool_is_quiesced_and_the_worker_settles_either_way(tmp_path):
    """Two plugin backends whose runtime keeps a thread busy for 0.3 s after every call (as ORT's
    pool does): one declares a quiesce function in its table row, the other does not. Interleaved
    with eager, the declared one is stopped at each switch (short waits), the undeclared one is
    waited out (waits near its spin time), and each case records what was done."""
    import statistics

    spin_s = 0.3  # bench_fake_plugin.SPIN_S
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[timing]\nwarmup_max = 3\nmin_iters = 5\nmin_time_s = 0.3\nmax_time_s = 1.0\n")
    model = FIXTURES / "models" / "tiny_user_model.py"
    res = _bench(["run", "-c", str(cfg), "-m", str(model), "--backends", "eager,eager-spin,eager-spin-undeclared",
                  "-b", "1", "--threads", "1", "--no-energy", "--no-peaks", "--no-report", "-o",
                  str(tmp_path / "out")], tmp_path)
    assert res.returncode == 0, res.stderr + res.stdout
    data = json.loads(next((tmp_path / "out").glob("results-*.json")).read_text())
    cases = {c["spec"]["backend"]: c for c in data["cases"]}
    assert all(c["status"] == "ok" for c in cases.values()), [c.get("error") for c in cases.values()]
    waits = {name: [w for w in c["latency"]["settle_ms"] if w > 0] for name, c in cases.items()}
    assert statistics.median(waits["eager-spin"]) < 0.25 * spin_s * 1e3, waits["eager-spin"]
    assert statistics.median(waits["eager-spin-undeclared"]) > 0.5 * spin_s * 1e3, waits["eager-spin-undeclared"]
    declared = cases["eager-spin"]["runtime"]["between_blocks"]
    assert declared.startswith("quiesced by bench_fake_plugin:quiesce, then waited until no other thread")
    assert cases["eager-spin-undeclared"]["runtime"]["between_blocks"].startswith("waited until no other thread")
    assert cases["eager"]["runtime"]["runtime"].startswith("torch ")
    # no block began while a thread still ran: nothing flagged
    assert not [f for c in cases.values() for f in c["flags"] if f["kind"] == "unsettled"]
