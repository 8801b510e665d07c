"""How the fleet calls an engine that may be slow: a Raspberry Pi pulling a 6.7 GB image, a
Jetson under load, an engine on a busy machine answers in tens of seconds, not the SDK's 10.

* Every call is named (`what`: "POST /containers/{id}/start"), so the host's error says which
  call got no answer, and in how long.
* Idempotent calls (reading the engine's state, starting a started container, removing a
  removed one, waiting for an exit) are retried with exponential backoff when the engine did
  not answer in time or the connection dropped. Others (create, load, build) are not: a retry
  could do their work twice.
* Waiting for a container to exit is a loop of bounded `wait` calls, each re-asked while the
  engine still answers, so a run that is quiet for an hour is not mistaken for a dead engine,
  and a dead engine is found in minutes (`wait_for_exit`).

The docker SDK (and requests under it) are imported by the caller; nothing here prints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from suite.containers.images import DockerError, _short

T = TypeVar("T")
RETRIES = 3  # after the first attempt: 1 + 2 + 4 s of backoff
BACKOFF_S = 1.0
WAIT_POLL_S = 60.0  # one `wait` call's time limit; re-asked while the container runs


def transient_errors() -> tuple[type[BaseException], ...]:
    """No answer in time, or the connection refused or dropped (requests' Timeout and
    ConnectionError): what may pass when asked again. An HTTP error answer is not."""
    import requests

    return (requests.exceptions.Timeout, requests.exceptions.ConnectionError)


def _no_answer(what: str, timeout_s: float | None, attempts: int, exc: BaseException) -> DockerError:
    import requests

    if isinstance(exc, requests.exceptions.Timeout):
        limit = f"within {timeout_s:g} s" if timeout_s is not None else "in time"
        how = f"no answer {limit}"
    else:
        how = f"the connection failed ({_short(exc)})"
    tries = f" ({attempts} attempts)" if attempts > 1 else ""
    return DockerError(f"The engine did not answer {what}: {how}{tries}.")


def call(what: str, fn: Callable[[], T], *, timeout_s: float | None, retries: int = 0,
         backoff_s: float = BACKOFF_S, sleep: Callable[[float], None] = time.sleep) -> T:
    """`fn()` (one engine call, described by `what`, whose client waits `timeout_s` for an
    answer). A transient failure is retried `retries` times after backoff_s, 2 x backoff_s, ...;
    the last one raises DockerError naming the call. Other errors pass through."""
    errors = transient_errors()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except errors as exc:
            if attempt > retries:
                raise _no_answer(what, timeout_s, attempt, exc) from None
            sleep(backoff_s * 2 ** (attempt - 1))


def wait_for_exit(api: Any, container_id: str,  # api: a docker.APIClient (the SDK is untyped)
                  *, inspect_timeout_s: float, poll_s: float = WAIT_POLL_S,
                  give_up_s: float = 300.0, sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> dict:
    """The container's exit status (the engine's wait answer), however long it runs.

    Each `wait` call is limited to `poll_s`; when it runs out, the engine is asked whether the
    container still exists (`inspect`, itself retried), and the wait is asked again. When the
    engine answers neither for `give_up_s` in a row (the fleet: the host's api_timeout_s),
    DockerError names the call."""
    what = f"POST /containers/{container_id[:12]}/wait"
    errors = transient_errors()
    failing_since: float | None = None
    delay = BACKOFF_S
    while True:
        try:
            return api.wait(container_id, timeout=poll_s)
        except errors as exc:
            import requests

            if isinstance(exc, requests.exceptions.ReadTimeout):  # the engine took the call: still running?
                try:
                    call(f"GET /containers/{container_id[:12]}/json", lambda: api.inspect_container(container_id),
                         timeout_s=inspect_timeout_s, retries=RETRIES, sleep=sleep)
                    failing_since, delay = None, BACKOFF_S
                    continue
                except DockerError:
                    pass
            now = clock()
            failing_since = now if failing_since is None else failing_since
            if now - failing_since >= give_up_s:
                raise DockerError(f"The engine did not answer {what} for {give_up_s:g} s while the container ran "
                                  f"(last: {_short(exc)}).") from None
            sleep(delay)
            delay = min(delay * 2, 30.0)
