"""Device ceilings and the roofline through the installed `bench` command: `bench peak`, a run that
stores its roofs and places every case under them, --no-peaks, and the report's figure, column and
explanations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from console_script import installed_bench, usage_error

REPO = Path(__file__).resolve().parents[2]
TINY = str(REPO / "tests" / "fixtures" / "models" / "tiny_user_model.py")




def test_bench_peak_measures_caches_and_refuses_bad_input(tmp_path):
    env = {"BENCH_PEAKS_DIR": str(tmp_path / "peaks")}
    res = installed_bench("peak", "--threads", "1", "--json", env_extra=env, timeout=300)
    assert res.returncode == 0, res.stderr
    first = json.loads(res.stdout)
    assert first["device"] == "cpu" and first["threads"] == 1 and not first["cached"]
    assert first["gemm_flops_s"] > 1e8 and first["bandwidth_bytes_s"] > 1e8
    res = installed_bench("peak", "--threads", "1", env_extra=env, columns=250)
    assert res.returncode == 0 and "from the cache" in res.stdout and "ridge point" in res.stdout
    assert f"{first['gemm_flops_s'] / 1e9:,.1f} GFLOP/s" in res.stdout
    for name, fig in first["gemm"].items():  # each engine's fastest call, with its median call beside it
        (row,) = [line for line in res.stdout.splitlines() if f"GEMM {name} " in line]
        assert row.split()[2:6] == [f"{fig['value'] / 1e9:,.1f}", "GFLOP/s", f"{fig['median_value'] / 1e9:,.1f}", "GFLOP/s"]
    assert "gpu" in usage_error(installed_bench("peak", "--device", "gpu", env_extra=env))
    usage_error(installed_bench("peak", "--threads", "0", env_extra=env))


def _config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'models = ["{TINY}"]\nbackends = ["eager", "ort"]\nbatch_sizes = [1, 2, 4]\nthreads = 1\n{extra}'
                   f'[timing]\nwarmup_max = 3\nmin_iters = 5\nmin_time_s = 0\nmax_time_s = 0.3\n'
                   f'[energy]\nenabled = false\n[ort]\ncache_dir = "{tmp_path / "cache"}"\n')
    return cfg


def test_a_run_stores_its_roofs_and_places_every_case_under_them(tmp_path):
    env = {"BENCH_PEAKS_DIR": str(tmp_path / "peaks")}
    res = installed_bench("run", "-c", str(_config(tmp_path)), "-o", str(tmp_path / "out"), env_extra=env,
                          timeout=600)
    assert res.returncode == 0, res.stderr
    assert "device ceilings (cpu): GEMM" in " ".join((res.stdout + res.stderr).split())
    (results,) = (tmp_path / "out").glob("results-*.json")
    data = json.loads(results.read_text())
    (peaks,) = data["environment"]["peaks"]
    assert peaks["threads"] == 1
    cases = data["cases"]
    assert len(cases) == 6
    for c in cases:
        r, lat = c["roofline"], c["latency"]["summary"]
        # achieved = counted FLOPs / median; attainable = min(GEMM roof, intensity x bandwidth)
        assert r["achieved_flops_s"] == pytest.approx(c["flops"]["flops"] / (lat["median_ms"] / 1e3))
        assert r["arithmetic_intensity"] == pytest.approx(c["flops"]["flops"] / r["bytes_moved"])
        assert r["bytes_moved"] == r["weight_bytes"] + r["activation_bytes"]
        roof = min(peaks["gemm_flops_s"], r["arithmetic_intensity"] * peaks["bandwidth_bytes_s"])
        assert r["attainable_flops_s"] == pytest.approx(roof)
        assert r["fraction_of_roof"] == pytest.approx(r["achieved_flops_s"] / roof)
        # ORT is placed with the model's counts, and says so
        assert ("not its own graph" in r["method"]) == (c["spec"]["backend"] == "ort")
    assert {"copy", "triad", "onnxruntime.Add"} <= set(peaks["bandwidth"])
    assert peaks["gemm_flops_s"] == max(f["value"] for f in peaks["gemm"].values())
    assert peaks["bandwidth_bytes_s"] == max(peaks["bandwidth"][k]["value"] for k in ("triad", "onnxruntime.Add"))
    # the weights are the same per call at every batch size; activations grow with it
    by_batch = {c["spec"]["batch_size"]: c["roofline"] for c in cases if c["spec"]["backend"] == "eager"}
    assert by_batch[1]["weight_bytes"] == by_batch[4]["weight_bytes"]
    assert by_batch[4]["activation_bytes"] == 4 * by_batch[1]["activation_bytes"]
    html = (tmp_path / "out" / "report.html").read_text()
    assert "fig-roofline" in html and "% of roof" in html
    assert (tmp_path / "out" / "report-figures" / "roofline.png").stat().st_size > 5000
    md = (tmp_path / "out" / "report.md").read_text()
    assert "What the numbers say" in md and "batch" in md
    assert "% of roof" in (tmp_path / "out" / "report-tables" / "cases.md").read_text()
    import csv

    with (tmp_path / "out" / "report-tables" / "cases.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    by_id = {(c["spec"]["backend"], c["spec"]["batch_size"]): c["roofline"] for c in cases}
    for row in rows:  # the CSV carries the whole roofline of every case, as stored
        r = by_id[(row["backend"], int(row["batch_size"]))]
        assert float(row["roof_fraction"]) == pytest.approx(r["fraction_of_roof"])
        assert float(row["arithmetic_intensity_flop_per_byte"]) == pytest.approx(r["arithmetic_intensity"])
        assert float(row["attainable_flops_s"]) == pytest.approx(r["attainable_flops_s"])
        assert row["roof_bound"] == r["bound"]


def test_no_peaks_leaves_the_roofs_out(tmp_path):
    env = {"BENCH_PEAKS_DIR": str(tmp_path / "peaks")}
    cfg = _config(tmp_path).read_text().replace("batch_sizes = [1, 2, 4]", "batch_sizes = [1]")
    (tmp_path / "c.toml").write_text(cfg)
    res = installed_bench("run", "-c", str(tmp_path / "c.toml"), "--no-peaks", "-o", str(tmp_path / "out"),
                          env_extra=env, timeout=600)
    assert res.returncode == 0, res.stderr
    (results,) = (tmp_path / "out").glob("results-*.json")
    data = json.loads(results.read_text())
    assert data["environment"]["peaks"] == [] and not (tmp_path / "peaks").exists()
    for c in data["cases"]:
        assert c["roofline"]["arithmetic_intensity"] > 0 and c["roofline"]["attainable_flops_s"] is None
