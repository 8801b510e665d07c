"""--profile through the installed `bench` command: a mistaken value is one paragraph and exit 2, the
[profile] config section works like the flag, and a profiled run through the case workers stores a
profile on every case and writes the side-by-side tables into the report."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from console_script import installed_bench, usage_error

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "fixtures" / "models" / "tiny_user_model.py")




def test_a_bad_number_of_profiled_calls_is_a_usage_error(tmp_path):
    text = usage_error(installed_bench("run", "-m", TINY, "--profile-calls", "0", "-o", str(tmp_path)))
    assert "profile.calls" in text and "greater than or equal to 1" in text and "command-line flags" in text
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'models = ["{TINY}"]\n[profile]\nenabled = true\ncals = 3\n')
    text = usage_error(installed_bench("run", "-c", str(cfg), "-o", str(tmp_path)))
    assert "profile.cals" in text
    assert not list(tmp_path.glob("results-*.json"))


def test_run_help_names_the_flags():
    res = installed_bench("run", "--help", columns=200)
    assert res.returncode == 0 and "--profile" in res.stdout and "--profile-calls" in res.stdout


def test_a_profiled_run_through_the_workers_and_its_report(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'models = ["{TINY}"]\nbackends = ["eager", "ort"]\nthreads = 1\n'
                   f'[timing]\nwarmup_max = 3\nmin_iters = 5\nmin_time_s = 0\nmax_time_s = 0.3\n'
                   f'[energy]\nenabled = false\n[ort]\ncache_dir = "{tmp_path / "cache"}"\n'
                   f'[profile]\nenabled = true\ncalls = 4\n')
    res = installed_bench("run", "-c", str(cfg), "-o", str(tmp_path / "out"), timeout=600)
    assert res.returncode == 0, res.stderr
    assert "profiler_start" not in res.stdout + res.stderr  # kineto's lines kept off the progress bar
    (results,) = (tmp_path / "out").glob("results-*.json")
    data = json.loads(results.read_text())
    assert data["config"]["profile"] == {"enabled": True, "calls": 4, "top_nodes": 10}
    profiles = {c["spec"]["backend"]: c["profile"] for c in data["cases"]}
    assert profiles["eager"]["profiler"] == "torch.profiler" and profiles["ort"]["profiler"] == "onnxruntime"
    conv_flops = {}
    for backend, p in profiles.items():
        assert p["calls"] == 4 and len(p["call_op_ms"]) == 4 and len(p["call_wall_ms"]) == 4
        # tiny model: one convolution and one linear per forward on both backends
        conv = [o for o in p["ops"] if o["family"] == "conv"]
        assert sum(o["calls"] for o in conv) == 1
        conv_flops[backend] = sum(o["flops"] for o in conv)
    assert conv_flops["eager"] == 2 * 8 * 32 * 32 * 27
    # ORT's NCHWc convolution pads the 8 output channels to its SIMD block (8 with AVX2, 16 with
    # AVX-512): its FLOPs, read from the shapes it ran, are the work it did.
    assert conv_flops["ort"] in (2 * 8 * 32 * 32 * 27, 2 * 16 * 32 * 32 * 27)
    rows = list(csv.DictReader((tmp_path / "out" / "report-tables" / "profile-operators.csv").open()))
    assert {r["backend"] for r in rows} == {"eager", "ort"}
    assert "Where the time went: " in (tmp_path / "out" / "report.html").read_text()
    # ORT's trace files are deleted once read: none left in the working folder or the output
    assert not list(tmp_path.rglob("ort_*.json")) and not list(Path.cwd().glob("onnxruntime_profile*.json"))
