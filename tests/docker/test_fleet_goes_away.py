"""A fleet host whose engine goes away while its container runs: recorded as such, and the other
host finishes. Two real engines on this machine (the emulated arm64 host of the cross-arch fleet
is in scripts/verify-arm64.sh --fleet: too slow for the default run)."""

from __future__ import annotations

import threading
import time

import pytest
from docker_helpers import SECOND_DIR, start_second_engine, stop_second_engine
from tls_engine import sleepy_image

from suite.containers.fleet import parse_hosts, run_fleet

pytestmark = pytest.mark.docker


def test_a_host_that_goes_away_mid_run_is_recorded_and_the_rest_completes(engine, second_engine, tmp_path):
    import docker

    (tmp_path / "image").mkdir()
    tiny = sleepy_image(engine, tmp_path / "image")
    hosts = parse_hosts({
        "defaults": {"platform": "x86", "image": tiny, "meters": False, "connect_timeout_s": 20},
        "host": [
            {"name": "stays", "url": "unix:///var/run/docker.sock",
             "entrypoint": ["sh", "-c", "sleep 6; echo finished"], "args": []},
            {"name": "goes-away", "url": second_engine, "ship": True,
             "entrypoint": ["sh", "-c", "echo started; sleep 600"], "args": []},
        ],
    })
    stopped_at: list[float] = []

    def stop_when_running() -> None:  # the engine goes away once its container runs
        client = docker.DockerClient(base_url=second_engine, timeout=10)
        try:
            for _ in range(300):
                if client.containers.list():
                    break
                time.sleep(0.2)
            else:
                return
        finally:
            client.close()
        time.sleep(1.0)
        stop_second_engine()
        stopped_at.append(time.monotonic())

    stopper = threading.Thread(target=stop_when_running, daemon=True)
    lines: list[tuple[str, str]] = []
    t0 = time.monotonic()
    stopper.start()
    try:
        result = run_fleet(hosts, tmp_path / "out", merge=False, on_log=lambda h, line: lines.append((h, line)))
    finally:
        stopper.join(timeout=120)
        start_second_engine()
    assert stopped_at, f"the second engine ({SECOND_DIR}) never ran the container"
    by = {h.name: h for h in result.hosts}
    assert ("goes-away", "started") in lines  # its container did run before the engine went away
    assert by["stays"].status == "ok" and ("stays", "finished") in lines
    gone = by["goes-away"]
    assert gone.status in ("error", "unreachable", "failed") and gone.error, gone
    assert gone.exit_code is None  # it never reported an exit: the engine vanished
    # recorded when the engine went away, not after the container's 600 s
    assert result.duration_s < 120, result.duration_s
    assert not result.ok
    assert stopped_at[0] - t0 < result.duration_s + 1
