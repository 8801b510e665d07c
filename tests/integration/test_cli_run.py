"""`bench` end to end on real small models, as a user types it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent.parent / "fixtures"
FAST = ["--no-energy", "--no-report"]


def bench(*args: str, cwd: Path | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="200")
    return subprocess.run([sys.executable, "-m", "suite", *args], capture_output=True, text=True, cwd=cwd,
                          env=env, timeout=timeout)


def fast_config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "fast.toml"
    cfg.write_text("[timing]\nwarmup_max = 5\nmin_iters = 5\nmin_time_s = 0\nmax_time_s = 0.5\n" + extra)
    return cfg


def load(out: Path) -> dict:
    files = sorted(out.glob("results-*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


def test_help_is_instant_and_imports_nothing_heavy():
    code = ("import sys, time; t=time.perf_counter(); from suite.cli import app; "
            "heavy=[m for m in ('torch','transformers','onnxruntime','matplotlib','codecarbon') if m in sys.modules]; "
            "print(heavy, time.perf_counter()-t)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    heavy, seconds = out.rsplit(" ", 1)
    assert heavy == "[]"
    t0 = time.perf_counter()
    res = bench("--help")
    elapsed = time.perf_counter() - t0
    assert res.returncode == 0 and "run" in res.stdout
    # Ratio, not an absolute budget: --help costs about as much as a bare interpreter start.
    t1 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import typer, pydantic"], check=True)
    bare = time.perf_counter() - t1
    assert elapsed < bare * 4


def test_every_command_has_help():
    import typer.main

    from suite.cli import app

    group = typer.main.get_command(app)
    for name, cmd in group.commands.items():
        assert cmd.help, f"bench {name} has no help text"
        for sub in getattr(cmd, "commands", {}).values():
            assert sub.help, f"bench {name} {sub.name} has no help text"


def test_run_sweep_in_workers(tmp_path):
    out = tmp_path / "out"
    res = bench("run", "-c", str(fast_config(tmp_path)), "--model", "squeezenet1_0", "--backends", "eager",
                "--batch-sizes", "1,2", "--input-sizes", "image:64,96", "--threads", "1", "-o", str(out), *FAST)
    assert res.returncode == 0, res.stderr
    doc = load(out)
    cases = doc["cases"]
    assert [(c["spec"]["batch_size"], c["spec"]["input_size"]) for c in cases] == [(1, 64), (2, 64), (1, 96), (2, 96)]
    for c in cases:
        assert c["status"] == "ok", c.get("error")
        assert c["params"]["unique"] == 1_248_424
        lat = c["latency"]
        assert len(lat["samples_ms"]) >= 5 and lat["threads"] == 1
        assert lat["summary"]["median_ms"] > 0
        assert c["memory"]["rss_peak_bytes"] >= c["memory"]["rss_before_bytes"]
        assert c["flops"]["flops"] == 2 * c["flops"]["macs"]
    # FLOPs scale with batch and with pixels
    f = {(c["spec"]["batch_size"], c["spec"]["input_size"]): c["flops"]["macs"] for c in cases}
    assert f[(2, 64)] == 2 * f[(1, 64)]
    assert f[(1, 96)] > f[(1, 64)]
    assert "median ms" in res.stdout and "squeezenet1_0" in res.stdout
    assert doc["environment"]["cores_logical"] >= 1
    assert doc["config"]["batch_sizes"] == [1, 2]


def test_user_model_file_in_one_line(tmp_path):
    out = tmp_path / "out"
    model = FIXTURES / "models" / "tiny_user_model.py"
    res = bench("run", "-c", str(fast_config(tmp_path)), "--model", str(model), "--backends", "eager",
                "-o", str(out), "--inline", *FAST)
    assert res.returncode == 0, res.stderr
    (case,) = load(out)["cases"]
    assert case["status"] == "ok"
    # Hand-derived: conv 3->8 k3 on 32x32 = 32*32*8*27 MACs, linear 8->10 = 80 MACs
    assert case["flops"]["macs"] == 32 * 32 * 8 * 27 + 80


def test_unknown_model_is_a_clear_error(tmp_path):
    res = bench("run", "--model", "resnet-18", "-o", str(tmp_path), *FAST)
    assert res.returncode == 2
    assert "resnet18" in res.stderr and "Traceback" not in res.stderr
    assert not list(tmp_path.glob("results-*.json"))  # failed before anything ran


def test_bad_size_is_refused_before_running(tmp_path):
    res = bench("run", "--model", "bert-base-uncased", "--input-sizes", "text:4096", "-o", str(tmp_path), *FAST)
    assert res.returncode == 2 and "too large" in res.stderr and "Traceback" not in res.stderr


def test_models_and_schema_and_env():
    res = bench("models", "*bert*")
    assert res.returncode == 0 and "albert-base-v2" in res.stdout and "11.68M" in res.stdout
    schema = json.loads(bench("schema").stdout)
    from suite.results.schema import SCHEMA_VERSION

    assert schema["title"] == f"bench results v{SCHEMA_VERSION}"
    assert set(schema["properties"]) >= {"schema_version", "environment", "cases", "comparisons"}
    env = json.loads(bench("env", "--json").stdout)
    assert env["cores_logical"] >= 1 and "torch" in env["packages"]
    text = " ".join(bench("env").stdout.split())
    # every meter is listed with what this machine says of it, as the energy package sees it
    from suite.energy.options import EnergyConfig
    from suite.energy.select import describe_meters

    statuses = describe_meters(EnergyConfig())
    assert "energy meters" in text and statuses
    for st in statuses:
        assert st.name in text, st.name


@pytest.mark.parametrize("bad", ["--batch-sizes=1,x", "--backends=eager,nope"])
def test_bad_flags(tmp_path, bad):
    res = bench("run", "--model", "resnet18", bad, "-o", str(tmp_path), *FAST)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
