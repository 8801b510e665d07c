"""suite.containers.calls: calls to a slow or vanished engine. Real sockets stand in for the
engine (a port nothing listens on, a server that accepts and never answers, one that answers
500), called with requests as the docker SDK calls it; the backoff is derived by hand."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests

from suite.containers.calls import RETRIES, call, wait_for_exit
from suite.containers.images import DockerError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_call_is_retried_with_doubling_backoff_then_named():
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{_closed_port()}/info"
    with pytest.raises(DockerError) as err:
        call("GET /info", lambda: requests.get(url, timeout=2), timeout_s=2, retries=RETRIES, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0]  # 1 + 2 + 4 s after the first attempt
    assert str(err.value).startswith("The engine did not answer GET /info: the connection failed (")
    assert str(err.value).endswith("(4 attempts).")


def test_a_silent_engine_is_no_answer_within_the_clients_time():
    with socket.socket() as server:  # accepts (the kernel's backlog) and never answers
        server.bind(("127.0.0.1", 0))
        server.listen(4)
        url = f"http://127.0.0.1:{server.getsockname()[1]}/containers/x/json"
        with pytest.raises(DockerError, match=r"did not answer GET /containers/x/json: no answer within 0.3 s\.$"):
            call("GET /containers/x/json", lambda: requests.get(url, timeout=0.3), timeout_s=0.3)


def test_an_error_answer_is_not_retried():
    class Fails(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Fails)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sleeps: list[float] = []
    try:
        def get():
            r = requests.get(f"http://127.0.0.1:{server.server_port}/x", timeout=5)
            r.raise_for_status()

        with pytest.raises(requests.exceptions.HTTPError):
            call("GET /x", get, timeout_s=5, retries=3, sleep=sleeps.append)
    finally:
        server.shutdown()
    assert sleeps == []


class Engine:
    """The two calls wait_for_exit makes, answering as an engine does: `wait` times out (the
    SDK's ReadTimeout) while the container runs, `inspect` answers while the engine is alive."""

    def __init__(self, waits: list, inspect_fails: bool = False):
        self.waits, self.inspect_fails, self.inspected = waits, inspect_fails, 0

    def wait(self, container_id, timeout):
        answer = self.waits.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def inspect_container(self, container_id):
        self.inspected += 1
        if self.inspect_fails:
            raise requests.exceptions.ConnectionError("engine gone")
        return {"State": {"Running": True}}


def test_a_quiet_container_is_waited_for_as_long_as_the_engine_answers():
    engine = Engine([requests.exceptions.ReadTimeout()] * 5 + [{"StatusCode": 3}])
    assert wait_for_exit(engine, "abcdef1234567890", inspect_timeout_s=5, sleep=lambda s: None) == {"StatusCode": 3}
    assert engine.inspected == 5


def test_an_engine_that_stops_answering_is_given_up_after_give_up_s():
    now = [0.0]

    def sleep(s):
        now[0] += s

    engine = Engine([requests.exceptions.ConnectionError("reset")] * 50)
    with pytest.raises(DockerError, match=r"did not answer POST /containers/abcdef123456/wait for 20 s"):
        wait_for_exit(engine, "abcdef1234567890", inspect_timeout_s=5, give_up_s=20, sleep=sleep, clock=lambda: now[0])
    # backoff 1, 2, 4, 8, 16 s after failures at 0, 1, 3, 7, 15 s; the sixth, at 31 s, is past 20 s: given up
    assert now[0] == 1 + 2 + 4 + 8 + 16
