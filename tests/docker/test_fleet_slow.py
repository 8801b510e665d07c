"""Slow engines (issue 23): an engine that answers every call seconds late, and a container that
prints nothing for longer than the connection's time limit, still run to their exit code; an
engine too slow for `api_timeout_s` fails its host with an error naming the call that got no
answer; the wait for a container's exit is asked again while the engine answers. The slow engine
is the real second engine behind a proxy that delays its answers (tests/docker/slow_proxy.py)."""

from __future__ import annotations

import time
import uuid

import pytest
from docker_helpers import SECOND_TCP, TEST_TAG
from slow_proxy import SlowProxy

from suite.containers.calls import wait_for_exit
from suite.containers.fleet import parse_hosts, run_fleet

pytestmark = pytest.mark.docker


def test_a_slow_engine_and_a_quiet_container_run_to_their_exit(engine, test_image, second_engine, tmp_path):
    """The issue's CI failure on a loaded machine: the second engine pinged in time, then took
    longer than the SDK's time limit (connect_timeout_s = 10, as the fleet tests set it) to
    answer the image load, and the host had no exit code. Here its answers to the load, the
    create and the start come 12 s late, and the container is quiet for 15 s."""
    import docker

    tag = f"bench-test:slow-{uuid.uuid4().hex[:8]}"  # not on the second engine yet: shipped
    engine.images.get(TEST_TAG).tag(tag)
    slow = r"POST /v[\d.]+/(images/load|containers/create|containers/\w+/start)"
    try:
        with SlowProxy(SECOND_TCP, delay_s=12.0, only=slow) as proxy:
            hosts = parse_hosts({"host": [{
                "name": "slow", "url": proxy.url, "platform": "x86", "image": tag, "ship": True, "meters": False,
                "connect_timeout_s": 10, "entrypoint": ["sh", "-c", "echo start; sleep 15; echo done; exit 3"],
                "args": [],
            }]})
            lines: list[str] = []
            result = run_fleet(hosts, tmp_path, merge=False, on_log=lambda host, line: lines.append(line))
        (h,) = result.hosts
        assert h.status == "failed" and h.exit_code == 3, (h, lines)  # the container's own status, seen
        assert "start" in lines and "done" in lines, lines
        assert len(proxy.delayed) == 3 and "images/load" in proxy.delayed[0], proxy.delayed  # slow, really
        assert h.duration_s >= 2 * 12 + 15  # the load and the create, then the quiet run (the start overlaps it)
    finally:
        engine.images.remove(tag)
        second = docker.DockerClient(base_url=second_engine, timeout=60)
        try:
            second.images.remove(tag)
        except docker.errors.ImageNotFound:
            pass
        finally:
            second.close()


def test_an_engine_too_slow_for_its_time_limit_names_the_call(test_image, second_engine, tmp_path):
    with SlowProxy(SECOND_TCP, delay_s=4.0) as proxy:
        hosts = parse_hosts({"host": [{
            "name": "slower", "url": proxy.url, "platform": "x86", "image": TEST_TAG, "meters": False,
            "connect_timeout_s": 20, "api_timeout_s": 1.5, "args": [],
        }]})
        result = run_fleet(hosts, tmp_path, merge=False)
    (h,) = result.hosts
    assert h.status == "error" and h.exit_code is None, h
    assert h.error == (f"The engine did not answer GET /images/{TEST_TAG}/json: no answer within 1.5 s "
                       "(4 attempts)."), h.error


def test_the_wait_for_an_exit_is_asked_again_while_the_container_runs(test_image, second_engine):
    import docker

    client = docker.DockerClient(base_url=second_engine, timeout=30)
    container = client.containers.create(TEST_TAG, entrypoint=["sh", "-c", "sleep 7; exit 5"], network_mode="none",
                                         labels={"dev.bench-suite.run": "1"})
    try:
        container.start()
        t0 = time.monotonic()
        status = wait_for_exit(client.api, container.id, inspect_timeout_s=30, poll_s=2)
        assert status["StatusCode"] == 5 and time.monotonic() - t0 >= 6  # three 2-s waits ran out first
    finally:
        container.remove(force=True)
        client.close()
