"""`bench models`, `bench env`, `bench schema`: what the suite knows about models, this
machine and its results format."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from rich.console import Console

    from suite.models.entry import ModelEntry


def models_cmd(
    pattern: Annotated[str, typer.Argument(help="Wildcard filter on the name, e.g. '*bert*'.")] = "*",
    modality: Annotated[Optional[str], typer.Option(help="image, text, audio or multimodal.")] = None,
    source: Annotated[Optional[str], typer.Option(help="registry (the seed zoo) only, for now.")] = None,
    count: Annotated[bool, typer.Option("--count/--no-count", help="Build each model on the meta device to count its parameters.")] = True,
) -> None:
    """List the model registry with input specs and parameter counts."""
    from rich.table import Table

    from suite.cli.console import stdout_console
    from suite.cli.summary import fmt_count
    from suite.models import list_models

    entries = list_models(pattern, modality, source)
    table = Table(title=f"{len(entries)} model(s)  (also: torchvision:<name>, hf:<type>, file.py, file.onnx)")
    for col in ("name", "modality", "inputs", "size axis (default)", "params", "description"):
        table.add_column(col)
    for e in entries:
        spec = e.input_spec
        inputs = ", ".join(t.name for t in spec.tensors)
        axis = f"{spec.size_axis} ({spec.default_size:g})" if spec.size_axis else "-"
        table.add_row(e.name, e.modality, inputs, axis, fmt_count(_count(e)) if count else "-", e.description)
    stdout_console().print(table)


def env_cmd(
    as_json: Annotated[bool, typer.Option("--json", help="Print the environment as JSON.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Check the machine for stable timings (governor, turbo, SMT, swap, load, busy processes, threads vs CPUs), each with its fix.")] = False,
) -> None:
    """Show this machine's hardware and software fingerprint, and the energy meters usable here."""
    from suite.cli.console import stdout_console

    if check:
        _print_checks(stdout_console())
        return
    from suite.machine.environment import collect_environment

    env = collect_environment()
    if as_json:
        typer.echo(env.model_dump_json(indent=2))
        return
    from rich.table import Table

    table = Table(title="environment", show_header=False)
    for k, v in env.model_dump().items():
        if k == "packages":
            v = ", ".join(f"{n} {ver}" for n, ver in v.items())
        elif k == "ram_bytes" and v:
            v = f"{v / 2**30:.1f} GiB"
        table.add_row(k, "-" if v in (None, [], "") else str(v))
    console = stdout_console()
    console.print(table)
    _print_runtimes(console)
    _print_meters(console)


def schema_cmd() -> None:
    """Print the JSON Schema of the results file (see results/history.md for versions)."""
    from suite.results.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def register(app: typer.Typer) -> None:
    app.command("models")(models_cmd)
    app.command("env")(env_cmd)
    app.command("schema")(schema_cmd)


def _count(entry: ModelEntry) -> int | None:
    try:
        import torch

        with torch.device("meta"):
            model = entry.build()
        return sum(p.numel() for p in model.parameters())
    except Exception:
        return entry.reference_params


def _print_checks(console: Console) -> None:
    from rich.table import Table
    from rich.text import Text

    from suite.machine.syscheck import system_checks

    checks = system_checks()
    style = {"ok": Text("ok", "green"), "warn": Text("warn", "yellow"), "info": Text("n/a", "dim")}
    table = Table(title="is this machine ready for stable timings?", show_lines=True)
    for col in ("check", "state", "found", "fix"):
        table.add_column(col, overflow="fold")
    for c in checks:
        table.add_row(c.name, style.get(c.state, c.state), c.value, c.fix or "-")
    console.print(table)
    warned = sum(c.state == "warn" for c in checks)
    console.print(f"{warned} of {len(checks)} checks warn. Nothing was changed; the fixes need root and are "
                  "yours to make.", highlight=False)


def _print_runtimes(console: Console) -> None:
    from rich.table import Table

    from suite.plan.preflight import backend_runtimes

    table = Table(title="backends and their runtimes")
    for col in ("backend", "runtime versions", "status"):
        table.add_column(col)
    for row in backend_runtimes():
        table.add_row(*row)
    console.print(table)


def _print_meters(console: Console) -> None:
    from rich.table import Table

    from suite.cli.energy_env import METER_TABLE_COLUMNS, meter_table

    table = Table(title="energy meters")
    for col in METER_TABLE_COLUMNS:
        table.add_column(col)
    for row in meter_table():
        table.add_row(*[str(row[c]) for c in METER_TABLE_COLUMNS])
    console.print(table)
