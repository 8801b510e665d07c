"""The slim x86 image on a real engine: what it contains, `docker compose run bench` leaving
results and the report in ./reports, and `bench docker run` doing the same through the SDK."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from docker_helpers import BASE_TAG, ROOT, bench_cli, xfail_if_onnx_needs_torch

from suite.containers.container import run_container
from suite.containers.platform import meter_access
from suite.results.io import load_results

pytestmark = pytest.mark.docker

TINY_ARGS = ["--backends", "ort", "--batch-sizes", "1", "--no-energy"]


def _in_image(engine, image: str, script: str) -> str:
    out = engine.containers.run(image, ["-c", script], entrypoint=["sh"], network_mode="host", remove=True)
    return out.decode()


def test_slim_image_contents(engine, slim_image):
    out = _in_image(engine, slim_image, "id -u; id -g; echo $HOME; bench --help >/dev/null && echo cli-ok; "
                    "python -c 'import onnxruntime, sys; print(onnxruntime.__version__)'; "
                    "python -c 'import torch' 2>/dev/null && echo has-torch || echo no-torch")
    uid, gid, home, cli, ort_version, torch_state = out.split()
    assert uid == "1000" and gid == "1000" and home == "/home/bench"
    assert cli == "cli-ok"
    assert ort_version == _pinned("onnxruntime")  # constraints.txt's pin
    assert torch_state == "no-torch"  # the slim variant really is slim
    attrs = engine.images.get(slim_image).attrs["Config"]
    assert attrs["Entrypoint"] == ["bench-entrypoint"] and attrs["User"] == "1000:1000"


def test_code_change_rebuild_reuses_the_dependency_layers(engine, slim_image):
    """Only the suite's code layer is rebuilt when code changes: the image's layers below it
    are shared with the dependency build (what makes rebuilds take seconds)."""
    hist = engine.images.get(slim_image).history()
    created_by = [h["CreatedBy"] for h in hist]
    # Newest first: the code install comes after (above) the dependency install.
    code = next(i for i, c in enumerate(created_by) if "--no-deps ." in c)
    deps = next(i for i, c in enumerate(created_by) if "pip uninstall --yes bench-suite" in c)
    assert code < deps


def test_x86_sysfs_mount_resolves_class_links(engine, slim_image):
    """Recent engines mask /sys/devices/virtual/powercap (Debian's 20.10 does not yet), so x86
    containers see the host's sysfs under /host instead. /sys/class/<x>/<dev> entries are
    relative links into ../../devices/virtual: /sys/class/net/lo has the same layout as the RAPL
    zones (/sys/class/powercap/intel-rapl:0), and must resolve the same way in the container."""
    from docker.types import Mount

    access = meter_access("x86")  # this host's real access
    assert all(not m.target.startswith("/sys/") for m in access.mounts)
    mounts = [Mount(m.target, m.source, "bind", read_only=True) for m in access.mounts]
    script = ("readlink /host/sys/class/net/lo; cat /host/sys/class/net/lo/address; "
              "touch /host/sys/class/x 2>/dev/null && echo writable || echo read-only; echo $BENCH_SYSFS_ROOT")
    out = engine.containers.run(slim_image, ["-c", script], entrypoint=["sh"], network_mode="host",
                                mounts=mounts, environment=access.environment, remove=True).decode().split()
    assert out[0].startswith("../../devices/virtual/net/lo")
    assert out[1] == Path("/sys/class/net/lo/address").read_text().strip()
    assert out[2:] == ["read-only", "/host"]


def _pinned(name: str) -> str:
    from suite.containers.images import stack_pins

    return stack_pins(ROOT)[name]


def _compose_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env.update({"BENCH_VARIANT": "ort", "BENCH_BASE": BASE_TAG, **extra})
    return env


def test_compose_builds_the_image_on_the_local_base(slim_image):
    """compose.yaml's build section (context, Dockerfile, args, host network) builds through the
    engine's BuildKit; the tag is the one the SDK uses."""
    proc = subprocess.run(["docker", "compose", "build", "bench"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env=_compose_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = subprocess.run(["docker", "compose", "run", "--rm", "--entrypoint", "sh", "bench", "-c",
                          "python -c 'import onnxruntime; print(onnxruntime.__version__)'; id -u"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=_compose_env(BENCH_UID="1000"))
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == [_pinned("onnxruntime"), "1000"]


def test_compose_run_bench_leaves_results_and_report_on_the_host(slim_image, model_dir, reports_subdir):
    shutil.copy(model_dir / "tiny_mlp.onnx", reports_subdir / "tiny_mlp.onnx")
    inside = f"/reports/{reports_subdir.name}"
    proc = subprocess.run(
        ["docker", "compose", "run", "--rm", "bench", "--", "run", "--model", f"{inside}/tiny_mlp.onnx",
         *TINY_ARGS, "-o", inside],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=_compose_env())
    xfail_if_onnx_needs_torch(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = sorted(reports_subdir.glob("results-*.json"))
    assert len(results) == 1
    run = load_results(results[0])
    assert run.environment.in_container and run.environment.platform == "x86"
    assert [c.status for c in run.cases] == ["ok"]
    assert run.cases[0].spec.backend == "ort"
    assert (reports_subdir / "report.html").stat().st_size > 1000


def test_compose_run_passes_arguments_and_exit_status(slim_image):
    proc = subprocess.run(["docker", "compose", "run", "--rm", "bench", "--", "env", "--json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=_compose_env())
    assert proc.returncode == 0, proc.stderr[-3000:]
    env = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert env["in_container"] is True and env["platform"] == "x86"
    bad = subprocess.run(["docker", "compose", "run", "--rm", "bench", "--", "run", "--model", "/nope.onnx"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300, env=_compose_env())
    assert bad.returncode == 2, bad.stdout[-2000:] + bad.stderr[-2000:]


def test_bench_docker_run_streams_logs_and_returns_the_status(slim_image, model_dir, tmp_path):
    out = tmp_path / "reports"
    out.mkdir()
    shutil.copy(model_dir / "tiny_mlp.onnx", out / "tiny_mlp.onnx")
    proc = bench_cli("docker", "run", "--platform", "x86", "--variant", "ort", "--no-build", "-o", str(out),
                     "--", "run", "--model", "/reports/tiny_mlp.onnx", *TINY_ARGS)
    xfail_if_onnx_needs_torch(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "tiny_mlp.onnx" in proc.stdout  # the container's log, streamed
    results = sorted(out.glob("results-*.json"))
    assert len(results) == 1 and load_results(results[0]).cases[0].status == "ok"
    # Files belong to whoever ran `bench docker run`.
    assert results[0].stat().st_uid == os.getuid()

    missing = bench_cli("docker", "run", "--platform", "x86", "--variant", "ort", "--no-build", "-o", str(out),
                        "--", "run", "--model", "/reports/missing.onnx")
    assert missing.returncode == 2  # bench's own BenchError status, through the container


def test_bench_docker_build_streams_the_log_and_reports_failures(slim_image):
    ok = bench_cli("docker", "build", "--variant", "ort", "--base", BASE_TAG)  # platform detected: x86
    assert ok.returncode == 0, ok.stdout[-3000:] + ok.stderr[-3000:]
    lines = ok.stdout.rstrip().splitlines()
    assert lines[0].startswith("platform x86: Dockerfile.x86, stack ") and "torch 2.14.1" in lines[0]
    assert "Step 1/" in ok.stdout and lines[-2] == "built bench:x86-ort"
    # The command a person types: compose resolves it to the image just built (test_static checks
    # the same for every platform without an engine).
    assert lines[-1] == f"run it with:  BENCH_VARIANT=ort BENCH_BASE={BASE_TAG} docker compose run --rm bench"
    bad = bench_cli("docker", "build", "--variant", "ort", "--base", BASE_TAG, "--tag", "bench-test:broken",
                    "--build-arg", "VARIANT=bogus")
    assert bad.returncode == 2
    assert "Building bench-test:broken failed" in bad.stderr and "VARIANT must be full or ort, not bogus" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_bench_docker_run_without_the_image_says_what_to_do(engine, tmp_path):
    proc = bench_cli("docker", "run", "--image", "bench:does-not-exist", "-o", str(tmp_path))
    assert proc.returncode == 2
    assert "bench docker build" in proc.stderr and "Traceback" not in proc.stderr


def test_copy_out_takes_files_and_refuses_links(engine, slim_image, tmp_path):
    """Results come back from any engine by copy; a container cannot plant links on the host."""
    run = run_container(
        engine, slim_image, entrypoint=["sh", "-c"],
        command=["mkdir -p /reports/sub && echo one > /reports/a.json && echo two > /reports/sub/b.txt "
                 "&& ln -s /etc/passwd /reports/link && echo done"],
        copy_reports_to=tmp_path / "back", network_mode="none",
    )
    assert run.exit_code == 0
    names = sorted(p.relative_to(tmp_path / "back").as_posix() for p in run.copied)
    assert names == ["a.json", "sub/b.txt"]
    assert (tmp_path / "back/a.json").read_text() == "one\n"
    assert not (tmp_path / "back/link").exists()
    # And the container is gone.
    assert not engine.containers.list(all=True, filters={"id": run.container_id})


def test_exit_status_and_timeout(engine, slim_image):
    lines: list[str] = []
    failed = run_container(engine, slim_image, entrypoint=["sh", "-c"], command=["echo bye; exit 3"],
                           network_mode="none", on_log=lines.append)
    assert failed.exit_code == 3 and lines == ["bye"]
    stopped = run_container(engine, slim_image, entrypoint=["sleep"], command=["60"], network_mode="none",
                            timeout_s=1.0)
    assert stopped.timed_out and stopped.exit_code != 0 and stopped.duration_s < 30
