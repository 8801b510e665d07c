"""Run bench on many Docker engines at once and merge what comes back into one report.

A fleet is a hosts.toml file:

    [defaults]                       # optional; every key of a host may be set here
    args = ["run", "--preset", "quick"]

    [[host]]
    name = "pi5"                     # a folder name: letters, digits, . _ -
    url = "ssh://pi@pi5.local"       # unix:///var/run/docker.sock, tcp://host:2376, ssh://user@host
    platform = "rpi"                 # x86 | arm64 | rpi | l4t; default: asked from the engine
    build = true                     # build the image on that engine from this checkout

    [[host]]
    name = "lab-2"
    url = "tcp://10.0.0.12:2376"
    tls = true                       # TLS: verify the engine against cert_path/ca.pem and
    cert_path = "certs/lab-2"        # present cert.pem + key.pem (relative to this file)

A tcp:// host without TLS keys follows DOCKER_TLS_VERIFY / DOCKER_CERT_PATH; plain TCP to a
non-loopback address is refused unless the host says `insecure = true` (see connection.py).
Host URLs are shown only through connection.redact_url: credentials never reach the output.

Each host runs in its own thread with its own DockerClient: connect, get the image (build it
there, ship it from the local engine, or use/pull `image`), run the container, copy /reports
back into OUT/<name>/. A host that is down or fails is recorded and the others go on, so a
fleet takes about as long as its slowest host. Then every results file that came back is
merged into OUT/report.html.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from suite.containers.calls import RETRIES, call
from suite.containers.connection import (
    EngineConnection,
    connect_engine,
    engine_client,
    redact_url,
    resolve_connection,
)
from suite.containers.container import run_container
from suite.containers.images import (
    DockerError,
    build_image,
    connect,
    image_exists,
    image_tag,
    ship_image,
)
from suite.containers.platform import (
    FLAVOURS,
    MeterAccess,
    Mount,
    meter_access,
    platform_from_engine,
)
from suite.errors import BenchError, ConfigError
from suite.report.build import build_report_from_paths

HostStatus = Literal["ok", "failed", "unreachable", "error"]
LogFn = Callable[[str, str], None]  # (host name, line)
DEFAULT_ARGS = ("run", "--out", "/reports")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$")


class HostSpec(BaseModel):
    """One Docker engine of the fleet, as written in hosts.toml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    url: str = Field(repr=False)  # may hold credentials: shown only through redact_url
    platform: str | None = None  # flavour: x86 | arm64 | rpi | l4t
    image: str | None = None  # default bench:<platform>-<variant>
    build: bool = False  # build the image on this engine from the local checkout
    ship: bool = False  # copy the image from the local engine (docker save | docker load)
    variant: Literal["full", "ort"] = "full"
    base: str | None = None  # build argument BASE
    build_args: dict[str, str] = Field(default_factory=dict)
    args: list[str] = Field(default_factory=lambda: list(DEFAULT_ARGS))  # bench's arguments
    entrypoint: list[str] | None = None  # another program than `bench` (smoke tests)
    env: dict[str, str] = Field(default_factory=dict)
    group_add: list[str] = Field(default_factory=list)  # e.g. the host's jtop group id
    meters: bool = True  # mount what the platform's energy meters need
    # More bind mounts, docker-style "HOST:CONTAINER[:ro|rw]" (rw by default, as docker's -v), HOST
    # a path on that engine's machine: e.g. the MIDR_EL1 stand-in an emulated arm64 host needs.
    volumes: list[str] = Field(default_factory=list)
    # none: no network inside (a benchmark needs none) and the container's hostname is `name`,
    # so the merged report tells the hosts apart; host: the device's own hostname and network.
    network: Literal["none", "host"] = "none"
    timeout_s: float | None = Field(default=None, gt=0)  # the container's whole run
    connect_timeout_s: float = Field(default=30.0, gt=0)  # each of the connection's first two calls
    # Every other call's wait for an answer (creating, starting, inspecting, copying results
    # out): a Pi pulling an image or a Jetson under load answers in tens of seconds. Calls
    # that wait on long work (the log stream, a build, an image load) have no limit but the
    # container's `timeout_s`; the exit is waited for in bounded calls (suite.containers.calls).
    api_timeout_s: float = Field(default=120.0, gt=0)
    # How to reach a tcp:// engine (connection.py): TLS on/off (default: DOCKER_TLS_VERIFY /
    # DOCKER_CERT_PATH), the folder with ca.pem, cert.pem, key.pem, whether to verify the
    # engine (default true), and consent to plain TCP to a non-loopback address.
    tls: bool | None = None
    cert_path: str | None = None
    tls_verify: bool | None = None
    insecure: bool = False
    # ssh:// through the system's ssh client (its config, keys and agent), as the docker SDK's
    # use_ssh_client; false: the SDK's paramiko client.
    use_ssh_client: bool = True

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME_RE.match(v):
            raise ValueError("must be 1-63 letters, digits, '.', '_' or '-' (it names a folder)")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not re.match(r"^(unix|tcp|ssh|http|https|npipe)://.+", v):
            raise ValueError("must start with unix://, tcp://, ssh:// (e.g. ssh://pi@pi5.local)")
        return v

    @field_validator("volumes")
    @classmethod
    def _volumes(cls, v: list[str]) -> list[str]:
        targets = [parse_volume(spec).target for spec in v]
        dup = sorted({x for x in targets if targets.count(x) > 1})
        if dup:
            raise ValueError(f"two volumes are mounted at {dup[0]}; each container path takes one")
        return v

    @field_validator("platform")
    @classmethod
    def _platform(cls, v: str | None) -> str | None:
        if v is not None and v not in FLAVOURS:
            raise ValueError(f"must be one of {', '.join(FLAVOURS)}")
        return v


def parse_volume(spec: str) -> Mount:
    """A docker-style bind mount "HOST:CONTAINER[:ro|rw]" (rw when no mode is given, as `docker
    run -v`), both paths absolute. Raises ValueError saying what a good entry looks like."""
    parts = spec.split(":")
    example = 'e.g. "/srv/data:/data:ro"'
    if len(parts) not in (2, 3) or not all(parts):
        raise ValueError(f"'{spec}' is not HOST:CONTAINER or HOST:CONTAINER:ro|rw ({example})")
    source, target, *mode = parts
    if not source.startswith("/"):
        raise ValueError(f"'{spec}': the host path '{source}' must be absolute (a file or folder on that "
                         f"engine's machine; named volumes are not supported) ({example})")
    if not target.startswith("/") or target.rstrip("/") == "":
        raise ValueError(f"'{spec}': the container path '{target}' must be an absolute path other than / ({example})")
    if mode and mode[0] not in ("ro", "rw"):
        raise ValueError(f"'{spec}': the mode '{mode[0]}' must be ro (read-only) or rw ({example})")
    return Mount(source=source, target=target.rstrip("/"), read_only=bool(mode) and mode[0] == "ro")


class HostOutcome(BaseModel):
    name: str
    url: str
    status: HostStatus
    platform: str | None = None
    image: str | None = None
    exit_code: int | None = None
    duration_s: float = 0.0  # connect + image + run
    run_s: float | None = None  # the container alone
    results_files: list[str] = Field(default_factory=list)
    error: str | None = None


class FleetResult(BaseModel):
    hosts: list[HostOutcome]
    out_dir: str
    report: str | None = None
    report_error: str | None = None
    duration_s: float

    @property
    def ok(self) -> bool:
        return all(h.status == "ok" for h in self.hosts) and self.report_error is None


# ----------------------------------------------------------------------------- hosts.toml


def parse_hosts(
    doc: object,  # a parsed hosts.toml: checked here, so anything may come in
    source: object = "hosts.toml",
    *,
    environ: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> list[HostSpec]:
    """Validate a hosts document; also how each host is reached (TLS files present, no plain
    TCP off this machine without `insecure`), so a fleet does not start half-configured.
    `base_dir`: where relative cert_path folders are (the hosts file's folder)."""
    if not isinstance(doc, dict):
        raise ConfigError(f"{source}: expected a table with [[host]] entries")
    unknown = set(doc) - {"defaults", "host"}
    if unknown:
        raise ConfigError(f"{source}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
                          "use [defaults] and [[host]]")
    defaults = doc.get("defaults", {})
    raw_hosts = doc.get("host")
    if not isinstance(defaults, dict):
        raise ConfigError(f"{source}: [defaults] must be a table")
    if not raw_hosts or not isinstance(raw_hosts, list):
        raise ConfigError(f"{source}: no hosts; add at least one [[host]] with name and url")
    hosts: list[HostSpec] = []
    for i, raw in enumerate(raw_hosts, 1):
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: host #{i} must be a table")
        label = raw.get("name", f"#{i}")
        try:
            hosts.append(HostSpec.model_validate({**defaults, **raw}))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "?"
            raise ConfigError(f"{source}: host {label}: field '{where}': {first['msg']}") from None
    seen: set[str] = set()
    for h in hosts:
        if h.name in seen:
            raise ConfigError(f"{source}: two hosts are named '{h.name}'; names must be unique")
        seen.add(h.name)
    for h in hosts:
        try:
            resolve_connection(h, environ, base_dir)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    return hosts


def load_hosts(path: str | os.PathLike[str]) -> list[HostSpec]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10; tomli is absent where mypy checks the 3.10 branch on a newer Python
        import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"No hosts file {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read hosts file {p}: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_hosts(doc, p, base_dir=p.parent)


# ----------------------------------------------------------------------------- running


def bench_command(args: Sequence[str]) -> list[str]:
    """The container's command: bench's arguments, with `run` writing to /reports."""
    cmd = list(args)
    if cmd and cmd[0] == "run" and not any(a in ("-o", "--out") or a.startswith("--out=") for a in cmd):
        cmd += ["--out", "/reports"]
    return cmd


def run_fleet(
    hosts: Sequence[HostSpec],
    out_dir: str | os.PathLike[str],
    *,
    context: str | os.PathLike[str] | None = None,
    args: Sequence[str] | None = None,
    on_log: LogFn = lambda host, line: None,
    local_client_factory: Callable[[], Any] | None = None,  # a docker.DockerClient (the SDK is untyped)
    merge: bool = True,
    environ: Mapping[str, str] | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> FleetResult:
    """Run every host concurrently; never raises for one host's failure.

    `args` replaces every host's bench arguments (the CLI's pass-through). `environ` and
    `base_dir` as for parse_hosts (default: os.environ, the current folder)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    local_lock = threading.Lock()
    local: dict[str, Any] = {}  # the shared docker.DockerClient (untyped SDK)

    def local_client():
        with local_lock:
            if "client" not in local:
                local["client"] = (local_client_factory or connect)()
            return local["client"]

    def one(host: HostSpec) -> HostOutcome:
        return _run_host(host, out, context=context, args=args, on_log=on_log, local_client=local_client,
                         environ=environ, base_dir=base_dir)

    with ThreadPoolExecutor(max_workers=max(1, len(hosts)), thread_name_prefix="fleet") as pool:
        outcomes = list(pool.map(one, hosts))

    result = FleetResult(hosts=outcomes, out_dir=str(out), duration_s=0.0)
    files = [Path(f) for h in outcomes for f in h.results_files]
    if merge:
        if files:
            try:
                result.report = str(render_merged_report(files, out / "report.html"))
            except BenchError as exc:
                result.report_error = str(exc)
        else:
            result.report_error = "no host brought back a results file: nothing to merge"
    result.duration_s = time.monotonic() - start
    return result


def _run_host(host: HostSpec, out: Path, *, context, args, on_log: LogFn, local_client,
              environ=None, base_dir=None) -> HostOutcome:
    conn: EngineConnection | None = None

    def scrub(text: str) -> str:
        return conn.scrub(text) if conn is not None else text

    def log(line: str) -> None:
        on_log(host.name, scrub(line))

    t0 = time.monotonic()
    outcome = HostOutcome(name=host.name, url=redact_url(host.url), status="error")
    client = long_client = None
    api_t = host.api_timeout_s
    try:
        conn = resolve_connection(host, environ, base_dir)
        try:
            client = connect_engine(conn, timeout_s=host.connect_timeout_s, api_timeout_s=api_t, retries=RETRIES)
        except DockerError as exc:
            outcome.status = "unreachable"
            outcome.error = scrub(str(exc))
            log(f"unreachable: {outcome.error}")
            return outcome
        # For the calls that wait on long work: no limit but the container's own.
        long_client = engine_client(conn, client, None if host.timeout_s is None else host.timeout_s + api_t)
        # HostSpec validates `platform` against FLAVOURS; platform_from_engine returns one or raises.
        flavour = host.platform or platform_from_engine(call("GET /info", client.info, timeout_s=api_t,
                                                                 retries=RETRIES))
        outcome.platform = flavour
        tag = host.image or image_tag(flavour, host.variant)
        outcome.image = tag
        if host.build:
            call(f"POST /build ({tag})", lambda: build_image(
                long_client, platform=flavour, variant=host.variant, context=context, tag=tag, base=host.base,
                build_args=host.build_args, on_log=log), timeout_s=long_client.api.timeout)
        elif host.ship:
            call(f"POST /images/load ({tag}, shipped from this machine)", lambda: ship_image(
                local_client(), long_client, tag, on_log=log), timeout_s=long_client.api.timeout)
        elif not call(f"GET /images/{tag}/json", lambda: image_exists(client, tag), timeout_s=api_t,
                      retries=RETRIES):
            log(f"{tag} is not on this engine: pulling it")
            try:
                call(f"POST /images/create ({tag})", lambda: long_client.images.pull(tag),
                     timeout_s=long_client.api.timeout)
            except DockerError:
                raise
            except Exception as exc:  # docker.errors.APIError, bad names, no registry
                raise DockerError(
                    f"{tag} is not on the engine and cannot be pulled ({exc.__class__.__name__}): "
                    "set build = true or ship = true for this host"
                ) from None
        access = meter_access(flavour, check_host=False) if host.meters else None
        if access is not None and host.group_add:
            access = dataclasses.replace(access, group_add=access.group_add + tuple(host.group_add))
        if host.volumes:
            access = access or MeterAccess(flavour)
            access = dataclasses.replace(access, mounts=access.mounts + tuple(parse_volume(v) for v in host.volumes))
        dest = out / host.name
        run = run_container(
            client,
            tag,
            command=bench_command(args if args is not None else host.args),
            entrypoint=host.entrypoint,
            access=access,
            copy_reports_to=dest,
            network_mode=host.network,
            hostname=host.name if host.network == "none" else None,
            environment={"BENCH_HOSTNAME": host.name, **host.env},
            timeout_s=host.timeout_s,
            on_log=log,
            log_client=long_client,
        )
        outcome.exit_code = run.exit_code
        outcome.run_s = run.duration_s
        outcome.results_files = [str(p) for p in run.copied if p.name.startswith("results-") and p.suffix == ".json"]
        if run.exit_code == 0:
            outcome.status = "ok"
        else:
            outcome.status = "failed"
            outcome.error = ("stopped at the time limit" if run.timed_out
                             else f"the container exited with status {run.exit_code}")
        log(f"finished: {outcome.status} (exit {run.exit_code}, {run.duration_s:.1f} s)")
    except BenchError as exc:
        outcome.status = "error"
        outcome.error = scrub(str(exc))
        log(f"error: {outcome.error}")
    except Exception as exc:  # one host's surprise must not sink the fleet
        outcome.status = "error"
        outcome.error = scrub(f"{type(exc).__name__}: {exc}")
        log(f"error: {outcome.error}")
    finally:
        outcome.duration_s = time.monotonic() - t0
        for c in (client, long_client):
            if c is not None:
                try:
                    c.close()
                except Exception:
                    pass
    return outcome


def render_merged_report(results_files: Sequence[Path], out_html: Path) -> Path:
    """One report over every results file, by the same code as `bench report`."""
    built = build_report_from_paths(results_files, out_html, title="Fleet benchmark report")
    assert built.output is not None  # build_report_from_paths raises when nothing could be read
    return built.output.html or out_html
