"""A TCP proxy in front of a real engine's TCP port that delays what the engine sends by a fixed
time: a slow engine (a Raspberry Pi pulling an image, a Jetson under load) made on this machine
without loading its CPU, so the fleet's time limits are tested deterministically. `only` (a
regular expression on the HTTP request line, e.g. "POST /v1.43/images/load HTTP/1.1") delays
the answers to those requests alone: an engine that pings at once and loads an image slowly."""

from __future__ import annotations

import queue
import re
import socket
import threading
import time


class SlowProxy:
    def __init__(self, upstream: str, delay_s: float, only: str | None = None) -> None:
        host, _, port = upstream.rpartition(":")
        self.upstream = (host, int(port))
        self.delay_s = delay_s
        self.only = re.compile(only) if only else None
        self.delayed: list[str] = []  # the request lines whose answers were delayed
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        self._closed = threading.Event()
        self._socks: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True, name="slow-proxy").start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._closed.set()
        for s in [self._server, *self._socks]:
            try:
                s.close()
            except OSError:
                pass

    def __enter__(self) -> SlowProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                engine = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            engine.settimeout(None)
            self._socks += [client, engine]
            request = {"line": ""}  # the last request line the client sent on this connection
            threading.Thread(target=self._pump, args=(client, engine, lambda: 0.0, request), daemon=True).start()
            threading.Thread(target=self._pump, args=(engine, client, lambda r=request: self._delay(r["line"]), None),
                             daemon=True).start()

    def _delay(self, line: str) -> float:
        if self.only is None or self.only.search(line):
            return self.delay_s
        return 0.0

    def _pump(self, src: socket.socket, dst: socket.socket, delay_of, request: dict | None) -> None:
        """src -> dst, each chunk sent `delay_of()` (as it arrived) after it arrived, order kept;
        with `request`, the client's side: the request lines it sends are noted there."""
        chunks: queue.Queue = queue.Queue()

        def send() -> None:
            while True:
                arrived, delay_s, data = chunks.get()
                if data is None:
                    break
                wait = arrived + delay_s - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                try:
                    dst.sendall(data)
                except OSError:
                    break
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        while True:
            try:
                data = src.recv(1 << 16)
            except OSError:
                data = b""
            if request is not None and data:
                m = re.match(rb"(GET|POST|PUT|DELETE|HEAD) \S+ HTTP/1\.[01]", data)
                if m:
                    request["line"] = m.group(0).decode()
                    if self.only is not None and self.only.search(request["line"]):
                        self.delayed.append(request["line"])
            chunks.put((time.monotonic(), delay_of(), data or None))
            if not data:
                return
