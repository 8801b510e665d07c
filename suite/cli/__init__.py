"""The `bench` command line: a thin Typer app. Each command group lives in its own module: its
commands are module-level functions (callable without the command line) that its
`register(app)` attaches; commands parse, call the library, print. No logic here."""

from __future__ import annotations

import os
import sys

import typer

app = typer.Typer(
    name="bench",
    help="Benchmark ML inference efficiency (latency, FLOPs, memory, energy) on edge devices, "
    "PyTorch eager vs ONNX Runtime, and report across devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_DEBUG = False


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks (for developers)."),
) -> None:
    global _DEBUG
    _DEBUG = debug or os.environ.get("BENCH_DEBUG") == "1"


def _register_commands() -> None:
    from suite.cli import (
        audit_command,
        cache_command,
        container_commands,
        info_commands,
        peak_command,
        report_commands,
        run_command,
        verify_command,
    )

    for module in (run_command, info_commands, report_commands, cache_command, container_commands, verify_command,
                   peak_command, audit_command):
        module.register(app)
    run_command.register_study(app)


_register_commands()


def main() -> None:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    from suite.errors import BenchError

    try:
        # In non-standalone mode click *returns* a typer.Exit's code instead of raising it.
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc != 0:
            sys.exit(rc)
    except BenchError as exc:
        if _DEBUG:
            raise
        from suite.cli.console import print_error

        print_error(str(exc))
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except typer.TyperException as exc:
        # Usage errors (unknown option or command, a value of the wrong type, a missing
        # argument). Typer raises its own vendored click exceptions, so they are caught by
        # Typer's public base class. Always status 2: `bench compare` gives 1 to a regression,
        # and a typo must not read as one in CI.
        if _DEBUG:
            raise
        _print_usage_error(exc)
        sys.exit(2)


def _print_usage_error(exc: Exception) -> None:
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and exc.__class__.__name__ == "NoArgsIsHelpError":
        # `bench` or `bench compare` alone: the command's help is the answer.
        sys.stderr.write(exc.format_message().rstrip() + "\n")  # type: ignore[attr-defined]
        return
    from suite.cli.console import print_error

    message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
    if not message.endswith((".", "?", "!")):
        message += "."
    if ctx is not None:
        message += f" See: {ctx.command_path} --help"
    print_error(message)
