"""`bench docker build|run` (this machine's engine) and `bench fleet run` (many engines)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from suite.containers.fleet import FleetResult

_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


def docker_build(
    platform: Annotated[str, typer.Option(help="auto, x86, arm64, rpi or l4t.")] = "auto",
    variant: Annotated[str, typer.Option(help="full (PyTorch + ONNX Runtime) or ort (ONNX Runtime only, .onnx models).")] = "full",
    base: Annotated[Optional[str], typer.Option(help="Base image (build argument BASE), e.g. a local one made by scripts/make-base-image.sh.")] = None,
    tag: Annotated[Optional[str], typer.Option(help="Image tag (default bench:<platform>-<variant>).")] = None,
    build_arg: Annotated[Optional[list[str]], typer.Option("--build-arg", help="KEY=VALUE build argument (repeat), e.g. TORCH_INDEX_URL=https://pypi.org/simple.")] = None,
    context: Annotated[Optional[Path], typer.Option(help="The project folder with the Dockerfiles (default: found from here).")] = None,
    host: Annotated[Optional[str], typer.Option(help="Docker engine URL (default: DOCKER_HOST or the local socket).")] = None,
) -> None:
    """Build the image for this machine's platform (or --platform), streaming the build log."""
    from suite.containers.images import (
        build_image,
        compose_command,
        connect,
        find_context,
        stack_pins,
    )

    flavour = _flavour(platform)
    args = _kv(build_arg)
    ctx = find_context(context or Path.cwd())
    pins = stack_pins(ctx)
    out = _Out()
    out.line(f"platform {flavour}: {dockerfile_name(flavour)}, stack {ctx / 'constraints.txt'} ("
             + ", ".join(f"{k} {v}" for k, v in pins.items()) + ")")
    client = connect(host)
    tag = build_image(client, platform=flavour, variant=variant, context=ctx,
                      tag=tag, base=base, build_args=args, on_log=out.line)
    out.line(f"built {tag}")
    out.line("run it with:  " + compose_command(flavour, variant, base, args))


def docker_run(
    ctx: typer.Context,
    platform: Annotated[str, typer.Option(help="auto, x86, arm64, rpi or l4t.")] = "auto",
    variant: Annotated[str, typer.Option(help="full or ort.")] = "full",
    image: Annotated[Optional[str], typer.Option(help="Image to run (default bench:<platform>-<variant>).")] = None,
    build: Annotated[bool, typer.Option("--build/--no-build", help="Build the image first when the engine does not have it.")] = True,
    base: Annotated[Optional[str], typer.Option(help="Base image for that build.")] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Host folder mounted at /reports for the results and report.")] = Path("reports"),
    context: Annotated[Optional[Path], typer.Option(help="The project folder with the Dockerfiles.")] = None,
    host: Annotated[Optional[str], typer.Option(help="Docker engine URL (default: DOCKER_HOST or the local socket).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Stop the container after this many seconds.")] = None,
) -> None:
    """Run bench in a container with the meters' mounts, like `docker compose run bench`.

    Arguments after `--` go to bench in the container (default: `run --out /reports`);
    the command exits with the container's status."""
    import os

    from suite.containers.container import run_container
    from suite.containers.fleet import DEFAULT_ARGS, bench_command
    from suite.containers.images import (
        build_image,
        connect,
        image_exists,
        image_tag,
    )
    from suite.containers.platform import meter_access

    flavour = _flavour(platform)
    client = connect(host)
    printer = _Out()
    tag = image or image_tag(flavour, variant)
    if not image_exists(client, tag):
        if not build or image:
            from suite.containers.images import DockerError

            raise DockerError(f"The engine has no image {tag}: run `bench docker build` first (or drop --no-build).")
        build_image(client, platform=flavour, variant=variant, context=context or Path.cwd(), tag=tag,
                    base=base, on_log=printer.line)
    access = meter_access(flavour)
    for note in access.notes:
        printer.line(f"note: {note}")
    args = [a for a in ctx.args if a != "--"] or list(DEFAULT_ARGS)
    # Files in the host folder belong to whoever ran this command, as with compose's BENCH_UID.
    user = f"{os.getuid()}:{os.getgid()}" if hasattr(os, "getuid") else None
    # the log stream through a client without a time limit: a case may be quiet for its whole timeout
    result = run_container(client, tag, command=bench_command(args), access=access, bind_reports=out,
                           user=user, timeout_s=timeout, on_log=printer.line, log_client=connect(host, None))
    _exit(result.exit_code)


def fleet_run(
    ctx: typer.Context,
    hosts_file: Annotated[Path, typer.Argument(metavar="HOSTS.TOML", help="The Docker hosts: a table per host with name, url (unix://, tcp://, ssh://user@host), tls/cert_path for tcp://, platform, build/ship/image; see docs/devices.md.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for each host's results (OUT/<host>/) and the merged report.")] = Path("fleet-reports"),
    context: Annotated[Optional[Path], typer.Option(help="The project folder with the Dockerfiles (for hosts with build = true).")] = None,
) -> None:
    """Run every host concurrently, copy results back, merge them into one report.

    Arguments after `--` replace every host's bench arguments. Exits 1 when any host failed
    (the others still finish and are merged). tcp:// hosts use TLS with `tls = true` and
    `cert_path` (or DOCKER_TLS_VERIFY/DOCKER_CERT_PATH); plain TCP off this machine needs
    `insecure = true`."""
    from suite.containers.fleet import load_hosts, run_fleet

    hosts = load_hosts(hosts_file)
    printer = _Out()
    width = max(len(h.name) for h in hosts)
    args = [a for a in ctx.args if a != "--"] or None
    result = run_fleet(
        hosts, out, context=context or Path.cwd(), args=args, base_dir=hosts_file.parent,
        on_log=lambda name, line: printer.line(f"[{name:<{width}}] {line}"),
    )
    _print_summary(result)
    _exit(0 if result.ok else 1)


def register(app: typer.Typer) -> None:
    docker_app = typer.Typer(
        name="docker",
        help="Build and run the bench image for this machine on its Docker engine.",
        no_args_is_help=True,
    )
    fleet_app = typer.Typer(
        name="fleet",
        help="Run bench on many Docker hosts at once and merge their results into one report.",
        no_args_is_help=True,
    )
    app.add_typer(docker_app, name="docker")
    app.add_typer(fleet_app, name="fleet")
    docker_app.command("build")(docker_build)
    docker_app.command("run", context_settings=_PASS_THROUGH)(docker_run)
    fleet_app.command("run", context_settings=_PASS_THROUGH)(fleet_run)


def _exit(code: int) -> None:
    # SystemExit, not typer.Exit: with standalone_mode=False click swallows typer.Exit's code.
    if code:
        raise SystemExit(code)


class _Out:
    """Line printer shared by threads: whole lines, never interleaved."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        with self._lock:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()


def dockerfile_name(flavour: str) -> str:
    from suite.containers.images import dockerfile_for

    return dockerfile_for(flavour)


def _flavour(platform: str) -> str:
    from suite.containers.platform import check_flavour, detect_flavour

    return detect_flavour() if platform == "auto" else check_flavour(platform)


def _kv(pairs: Optional[list[str]]) -> dict[str, str]:
    from suite.errors import ConfigError

    out: dict[str, str] = {}
    for p in pairs or []:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise ConfigError(f"--build-arg '{p}' is not KEY=VALUE")
        out[key] = value
    return out


def _print_summary(result: FleetResult) -> None:
    from rich.table import Table
    from rich.text import Text

    from suite.cli.console import stdout_console

    table = Table(title=f"fleet: {len(result.hosts)} host(s) in {result.duration_s:.1f} s")
    for col in ("host", "status", "duration s", "results", "detail"):
        table.add_column(col)
    for h in result.hosts:
        colour = {"ok": "green", "failed": "red", "unreachable": "yellow"}.get(h.status, "red")
        files = ", ".join(Path(f).name for f in h.results_files) or "-"
        table.add_row(h.name, Text(h.status, colour), f"{h.duration_s:.1f}", files, h.error or "")
    console = stdout_console()
    console.print(table)
    if result.report:
        console.print(f"merged report: {result.report}")
    if result.report_error:
        console.print(Text.assemble(("no merged report:", "red"), " ", result.report_error))
