"""Run one bench container on one engine: meters' mounts, streamed logs, exit status, and the
results brought back (a bind mount on the local engine, or a copy out of the container).

Nothing here prints: every log line goes to `on_log(line)`.
"""

from __future__ import annotations

import io
import os
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from suite.containers.calls import RETRIES, call, wait_for_exit
from suite.containers.images import DockerError, _short
from suite.containers.platform import MeterAccess

REPORTS_IN_CONTAINER = "/reports"
LABEL = "dev.bench-suite.run"


@dataclass
class ContainerRun:
    exit_code: int
    duration_s: float
    container_id: str
    copied: list[Path]  # files brought back by copy (empty with a bind mount)
    timed_out: bool = False


def run_container(
    client,
    image: str,
    *,
    command: Sequence[str] | None = None,
    entrypoint: Sequence[str] | None = None,
    access: MeterAccess | None = None,
    bind_reports: str | os.PathLike[str] | None = None,
    copy_reports_to: str | os.PathLike[str] | None = None,
    network_mode: str = "host",
    hostname: str | None = None,
    user: str | None = None,
    environment: Mapping[str, str] | None = None,
    name: str | None = None,
    timeout_s: float | None = None,
    on_log: Callable[[str], None] = lambda line: None,
    log_client=None,
) -> ContainerRun:
    """Create, start and follow a container until it exits; return its status.

    `bind_reports`: a host folder mounted at /reports (the local engine, like compose).
    `copy_reports_to`: after the exit, /reports is copied out of the container into this folder
    (any engine, remote ones included). `timeout_s`: the container is stopped after that long
    and the run counts as failed. The container is always removed.

    `client`'s calls wait its own time limit for an answer (suite.containers.calls: the
    idempotent ones retried); the log stream, which may be quiet for as long as a case runs,
    reads through `log_client` (default `client`), whose calls should not time out; the exit is
    waited for in bounded, repeated calls, however long the container runs."""
    from docker.errors import APIError, ImageNotFound, NotFound
    from docker.types import Mount


    api_t = client.api.timeout
    access = access or MeterAccess("none")
    mounts = [Mount(target=m.target, source=m.source, type="bind", read_only=m.read_only) for m in access.mounts]
    if bind_reports is not None:
        host_dir = Path(bind_reports).resolve()
        host_dir.mkdir(parents=True, exist_ok=True)
        mounts.append(Mount(target=REPORTS_IN_CONTAINER, source=str(host_dir), type="bind", read_only=False))
    env = {**access.environment, **(environment or {})}
    kwargs = dict(
        image=image,
        command=list(command) if command is not None else None,
        entrypoint=list(entrypoint) if entrypoint is not None else None,
        mounts=mounts,
        devices=[f"{d}:{d}:rwm" for d in access.devices] or None,
        group_add=list(access.group_add) or None,
        runtime=access.runtime,
        environment=env or None,
        network_mode=network_mode,
        hostname=hostname if network_mode != "host" else None,
        user=user,
        name=name,
        labels={LABEL: "1"},
        init=True,
        detach=True,
    )
    try:
        # not retried: a create the engine did but never answered would leave a second container
        container = call("POST /containers/create", lambda: client.containers.create(
            **{k: v for k, v in kwargs.items() if v is not None}), timeout_s=api_t)
    except ImageNotFound:
        raise DockerError(f"The engine has no image {image}: build it first (bench docker build).") from None
    except APIError as exc:
        raise DockerError(f"The engine refused to create the container: {_short(exc)}") from None

    short_id = container.id[:12]
    start = time.monotonic()
    timed_out = threading.Event()
    timer: threading.Timer | None = None
    try:
        try:  # starting a started container is a no-op: retried
            call(f"POST /containers/{short_id}/start", container.start, timeout_s=api_t, retries=RETRIES)
        except APIError as exc:
            raise DockerError(f"The container did not start: {_short(exc)}") from None
        if timeout_s is not None:
            def _expire() -> None:
                timed_out.set()
                try:
                    call(f"POST /containers/{short_id}/stop", lambda: container.stop(timeout=5), timeout_s=api_t,
                         retries=RETRIES)
                except Exception:  # already gone
                    pass

            timer = threading.Timer(timeout_s, _expire)
            timer.daemon = True
            timer.start()
        logs = _LogStream(log_client or client, container.id, on_log)
        status = wait_for_exit(client.api, container.id, inspect_timeout_s=api_t, give_up_s=api_t or 120.0)
        logs.finish(api_t)
        duration_s = time.monotonic() - start
        exit_code = int(status.get("StatusCode", 1))
        if timed_out.is_set():
            on_log(f"stopped after the {timeout_s:g} s time limit")
            exit_code = exit_code or 124
        copied: list[Path] = []
        if copy_reports_to is not None:  # copying again overwrites the same files: retried
            copied = call(f"GET /containers/{short_id}/archive", lambda: copy_out(
                container, REPORTS_IN_CONTAINER, Path(copy_reports_to)), timeout_s=api_t, retries=RETRIES)
        return ContainerRun(exit_code, duration_s, container.id, copied, timed_out.is_set())
    except KeyboardInterrupt:
        try:
            container.stop(timeout=5)
        finally:
            raise
    finally:
        if timer is not None:
            timer.cancel()
        try:
            call(f"DELETE /containers/{short_id}", lambda: container.remove(force=True, v=True), timeout_s=api_t,
                 retries=RETRIES)
        except NotFound:  # removed by an attempt whose answer was lost
            pass
        except Exception:  # the engine went away; nothing more to clean
            pass


class _LogStream:
    """A container's log stream followed in a thread, line by line to `on_log`. It ends when the
    container exits; a stream that breaks (the engine restarted) says so in the log and costs
    nothing else: the exit status comes from the wait."""

    def __init__(self, client, container_id: str, on_log: Callable[[str], None]) -> None:
        self.on_log = on_log
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._follow, args=(client, container_id), daemon=True,
                                        name=f"logs-{container_id[:12]}")
        self._thread.start()

    def _follow(self, client, container_id: str) -> None:
        try:
            _follow_logs(client.api.logs(container_id, stream=True, follow=True, stdout=True, stderr=True),
                         self.on_log)
        except Exception as exc:
            self.error = exc

    def finish(self, timeout_s: float | None) -> None:
        """Wait (at most `timeout_s`) for the stream's last lines after the container exited."""
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self.on_log(f"(the log stream did not end within {timeout_s:g} s of the container's exit; "
                        "its last lines may be missing)")
        elif self.error is not None:
            self.on_log(f"(the log stream broke: {_short(self.error)}; its last lines may be missing)")


def _follow_logs(stream, on_log: Callable[[str], None]) -> None:
    partial = b""
    for chunk in stream:
        partial += chunk
        *lines, partial = partial.split(b"\n")
        for raw in lines:
            on_log(raw.decode("utf-8", "replace").rstrip("\r"))
    if partial:
        on_log(partial.decode("utf-8", "replace").rstrip("\r"))


def copy_out(container, path: str, dest: Path) -> list[Path]:
    """Copy the contents of `path` in the container into `dest`; return the files written.

    Only regular files and folders are taken; names that would land outside `dest` (absolute,
    `..`) and links are skipped, so a container cannot write elsewhere on this machine."""
    from docker.errors import NotFound

    dest.mkdir(parents=True, exist_ok=True)
    try:
        stream, _stat = container.get_archive(path.rstrip("/") + "/.")
    except NotFound:
        return []
    buf = io.BytesIO()
    for chunk in stream:
        buf.write(chunk)
    buf.seek(0)
    written: list[Path] = []
    root = dest.resolve()
    with tarfile.open(fileobj=buf, mode="r|") as tar:
        for member in tar:
            rel = PurePosixPath(member.name)
            parts = [p for p in rel.parts if p not in (".", "")]
            if not parts or rel.is_absolute() or ".." in parts:
                continue
            target = root.joinpath(*parts)
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                if src is None:
                    continue
                with open(target, "wb") as fh:
                    while block := src.read(1 << 20):
                        fh.write(block)
                os.chmod(target, 0o644)
                written.append(target)
    return sorted(written)
