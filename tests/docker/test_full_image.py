"""The full x86 image (PyTorch + ONNX Runtime, the pinned stack) built from the checkout and run
the way the README says: `docker compose run --rm bench -- -m resnet18 -b 1` leaves eager and
ORT results and the report in ./reports on the host, owned by the checkout's owner (#15).

CI cannot reach download.pytorch.org's CPU index, so this build takes torch from PyPI
(BENCH_TORCH_INDEX_URL): the CUDA build, several GB (see docs/devices.md for the size and the
cold build time). One build, one run; a warm engine reuses every layer.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from docker_helpers import BASE_TAG, ROOT

from suite.results.io import load_results

pytestmark = [pytest.mark.docker, pytest.mark.slow]
FULL_TAG = "bench:x86-full"
PYPI = "https://pypi.org/simple"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")}
    env.update({"BENCH_VARIANT": "full", "BENCH_BASE": BASE_TAG, "BENCH_TORCH_INDEX_URL": PYPI, **extra})
    return env


def _wait_for_prebuild(folder: Path, timeout_s: float = 2400) -> tuple[int, int]:
    """scripts/test.sh started the build beside the tests: wait for its status line (rc, seconds)."""
    status = folder / "status"
    deadline = time.monotonic() + timeout_s
    while not status.exists():
        assert time.monotonic() < deadline, f"the background build did not finish in {timeout_s:.0f} s: {folder}/build.log"
        time.sleep(2)
    rc, seconds = (int(x) for x in status.read_text().split())
    assert rc == 0, (folder / "build.log").read_text()[-3000:]
    return rc, seconds


@pytest.fixture(scope="module")
def full_image(engine, base_image, pytestconfig) -> str:
    prebuild = os.environ.get("BENCH_FULL_IMAGE_PREBUILD")
    how = "built"
    if prebuild:
        _, seconds = _wait_for_prebuild(Path(prebuild))
        how = f"built in {seconds} s by scripts/test.sh beside the tests; rebuilt from its layers"
    start = time.monotonic()
    # Built (again) here: with the layers the engine has, in seconds; on a cold engine, in minutes.
    proc = subprocess.run(["docker", "compose", "build", "bench"], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800, env=_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    size = engine.images.get(FULL_TAG).attrs["Size"]
    # Printed in CI's log whatever -q captures (the evidence: size and build time).
    line = f"{FULL_TAG}: {how} in {time.monotonic() - start:.0f} s (layers the engine has are reused), {size / 1e9:.2f} GB"
    capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + line, flush=True)
    else:
        print(line)
    return FULL_TAG


def test_compose_run_leaves_eager_and_ort_results_and_the_report_on_the_host(engine, full_image, reports_subdir):
    from suite.containers.images import stack_pins

    inside = f"/reports/{reports_subdir.name}"
    # Bare run options after `--`: the entrypoint makes them `bench run --out /reports ...`.
    proc = subprocess.run(["docker", "compose", "run", "--rm", "bench", "--", "-m", "resnet18", "-b", "1",
                           "-o", inside],
                          cwd=ROOT, capture_output=True, text=True, timeout=900, env=_env())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = sorted(reports_subdir.glob("results-*.json"))
    assert len(results) == 1, sorted(p.name for p in reports_subdir.iterdir())
    run = load_results(results[0])
    assert run.environment.in_container and run.environment.platform == "x86"
    assert sorted((c.spec.model, c.spec.backend, c.spec.batch_size, c.status) for c in run.cases) == [
        ("resnet18", "eager", 1, "ok"), ("resnet18", "ort", 1, "ok")]
    for c in run.cases:
        assert c.latency.summary.median_ms > 0
    # The pinned stack, inside the image.
    pins = stack_pins(ROOT)
    for name in ("torch", "onnxruntime", "transformers"):
        assert run.environment.packages[name].split("+")[0] == pins[name], name
    report = reports_subdir / "report.html"
    assert report.stat().st_size > 1000 and "resnet18" in report.read_text()
    # Owned by whoever owns the checkout's ./reports: the person who typed the command.
    owner = (ROOT / "reports").stat().st_uid
    assert owner == os.getuid()
    for p in [*results, report]:
        assert p.stat().st_uid == owner, p


def test_the_entrypoint_writes_as_the_owner_of_the_mounted_folder(engine, full_image, tmp_path):
    """The same image, started as root on a folder another user owns: bench runs as that user."""
    from docker.types import Mount

    d = tmp_path / "someone"
    d.mkdir()
    shutil.copy(ROOT / "tests/fixtures/results/rpi5.json", d / "r.json")
    os.chown(d, 4321, 4322)
    os.chown(d / "r.json", 4321, 4322)
    engine.containers.run(full_image, ["report", "/reports/r.json", "-o", "/reports/report.html",
                                             "--no-figures"],
                                user="0:0", network_mode="host", remove=True,
                                mounts=[Mount("/reports", str(d), type="bind")])
    made = d / "report.html"
    assert made.stat().st_size > 1000
    assert (made.stat().st_uid, made.stat().st_gid) == (4321, 4322)
