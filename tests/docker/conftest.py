"""A real Docker engine (two, for the fleet), a local base image and the slim x86 image.

The engine is started with scripts/start-docker.sh (or found running); tests marked `docker`
skip, saying why, only when no engine can be started at all. Everything else that goes wrong
(a build, compose, a container) fails.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from pathlib import Path

import pytest
from docker_helpers import (
    BASE_TAG,
    MODEL_IN_IMAGE,
    ROOT,
    SLIM_TAG,
    TEST_TAG,
    script,
    start_second_engine,
    stop_second_engine,
)
from service_check import service_missing


@pytest.fixture(scope="session")
def engine():
    """A DockerClient for the default engine, started if needed."""
    proc = script("scripts/start-docker.sh", timeout=300)
    if proc.returncode != 0:
        service_missing("no Docker engine could be started: " + (proc.stderr.strip().splitlines() or ["?"])[-1])
    import docker

    client = docker.DockerClient(base_url="unix:///var/run/docker.sock", timeout=300)
    client.ping()
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(engine) -> str:
    proc = script("scripts/make-base-image.sh", "--tag", BASE_TAG, timeout=600)
    assert proc.returncode == 0, f"make-base-image.sh failed:\n{proc.stderr[-3000:]}"
    assert proc.stdout.strip().splitlines()[-1] == BASE_TAG
    return BASE_TAG


@pytest.fixture(scope="session")
def slim_image(engine, base_image) -> str:
    """Dockerfile.x86, ONNX-Runtime-only variant, built on the local base by the suite's own
    SDK code (the full variant needs torch's CPU wheel index, which CI cannot reach)."""
    from suite.containers.images import build_image

    log: list[str] = []
    tag = build_image(engine, platform="x86", variant="ort", context=ROOT, base=base_image, on_log=log.append)
    assert tag == SLIM_TAG
    return tag


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """tiny_mlp.onnx (4 -> 3 -> 2, fixed weights) from the suite's ONNX fixtures; no torch needed."""
    sys.path.insert(0, str(ROOT / "tests/fixtures/models"))
    try:
        from make_onnx_fixtures import write_fixtures
    finally:
        sys.path.pop(0)
    d = tmp_path_factory.mktemp("models")
    write_fixtures(d)
    assert (d / "tiny_mlp.onnx").is_file()
    return d


@pytest.fixture(scope="session")
def test_image(engine, slim_image, model_dir, tmp_path_factory) -> str:
    """The slim image with the tiny model inside, for engines that cannot see this machine's files."""
    ctx = tmp_path_factory.mktemp("test-image")
    shutil.copy(model_dir / "tiny_mlp.onnx", ctx / "tiny_mlp.onnx")
    (ctx / "Dockerfile").write_text(f"FROM {slim_image}\nCOPY tiny_mlp.onnx {MODEL_IN_IMAGE}\n")
    engine.images.build(path=str(ctx), tag=TEST_TAG, network_mode="host", rm=True)
    return TEST_TAG


@pytest.fixture(scope="session")
def second_engine(engine):
    """A second, independent engine on its own socket and data root (a second 'device')."""
    url = start_second_engine()
    yield url
    stop_second_engine()


@pytest.fixture()
def reports_subdir():
    """A fresh folder under the project's ./reports (compose mounts ./reports), removed after."""
    d = ROOT / "reports" / f"test-{uuid.uuid4().hex[:8]}"
    d.mkdir(parents=True)
    d.chmod(0o777)  # the container's user (uid 1000) writes here
    yield d
    shutil.rmtree(d, ignore_errors=True)
