"""`bench cache ls` / `bench cache clear`: the ONNX export cache on disk."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

if TYPE_CHECKING:
    from rich.console import JustifyMethod

from suite.report.format import fmt_bytes  # math and re only: cheap to import here

DirOption = Annotated[Optional[Path], typer.Option(
    "--dir", help="Cache folder (default: ort.cache_dir from --config, else $BENCH_CACHE_DIR, else ~/.cache/bench/onnx).")]
ConfigOption = Annotated[Optional[Path], typer.Option(
    "--config", "-c", help="Read ort.cache_dir from this TOML/YAML config file.")]
PatternArg = Annotated[str, typer.Argument(help="Wildcard on the model name or folder, e.g. 'resnet*'.")]


def resolve_root(directory: Path | None, config: Path | None) -> Path:
    from suite.backends.ort.cache import cache_root

    if directory is not None:
        return cache_root(directory)
    configured = None
    if config is not None:
        from suite.config.bench_config import read_config_file

        ort = read_config_file(config).get("ort") or {}
        configured = ort.get("cache_dir") if isinstance(ort, dict) else None
    return cache_root(configured)


def _size(path: Path) -> int:
    try:
        if path.is_dir():
            return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        return path.stat().st_size
    except OSError:
        return 0


def ls_cmd(pattern: PatternArg = "*", directory: DirOption = None, config: ConfigOption = None) -> None:
    """List cached exports (ONNX files, ExecuTorch programs): model, exporter, opset, size, and failures remembered."""
    from rich.table import Table

    from suite.backends.ort.cache import leftovers, list_entries, verify
    from suite.cli.console import stdout_console

    root = resolve_root(directory, config)
    entries = list_entries(root, pattern)
    console = stdout_console()
    left = leftovers(root)
    if left:
        size = sum(_size(p) for p in left)
        console.print(f"{len(left)} unfinished write{'s' if len(left) != 1 else ''} left by an interrupted "
                      f"export ({fmt_bytes(size)}): removed by the next run once their process is gone, or "
                      "by `bench cache clear`", highlight=False)
    if not entries:
        console.print(f"No cached exports{'' if pattern == '*' else f' matching {pattern!r}'} in {root}")
        return
    table = Table(title=f"ONNX export cache: {root}")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("model", "left"), ("exporter", "left"), ("opset", "right"), ("status", "left"), ("size", "right"),
        ("export s", "right"), ("created", "left"), ("folder", "left"),
    )
    for col, just in columns:
        table.add_column(col, justify=just)
    total = 0
    problems = {}
    for e in entries:
        size = e.size_bytes()
        total += size
        problem = None if e.failed or e.meta.get("exporter") == "file" else verify(e)
        if problem is not None:
            problems[e.path.name] = problem
        if e.failed:
            status = f"failed: {e.meta.get('error', {}).get('kind', '?')}"
        elif problem is None:
            status = "ok"
        else:
            status = "unverified" if not e.recorded else "damaged"
        extras = [f for f in e.files() if f.startswith("model.int8")]
        if any(f.endswith(".onnx") for f in extras):
            status += " +int8"
        export_s = e.meta.get("export_s")
        table.add_row(e.model, str(e.meta.get("exporter", "-")), str(e.meta.get("opset") or "-"), status,
                      fmt_bytes(size), "-" if export_s is None else f"{export_s:.1f}",
                      str(e.meta.get("created_at", "-"))[:19], e.path.name)
    console.print(table)
    console.print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {fmt_bytes(total)}")
    from rich.markup import escape

    for e in entries:
        if e.failed:
            message = e.meta.get("error", {}).get("message", "")
            console.print(f"[bold]{escape(e.model)}[/] ({escape(e.path.name)}): {escape(message)}", markup=True,
                          highlight=False)
        elif e.path.name in problems:
            console.print(f"[bold]{escape(e.model)}[/] ({escape(e.path.name)}): {escape(problems[e.path.name])}; "
                          "exported again when next used (or `bench cache clear`)", markup=True, highlight=False)


def clear_cmd(
    pattern: PatternArg = "*",
    failed: Annotated[bool, typer.Option("--failed", help="Only forget failed exports (to retry them).")] = False,
    directory: DirOption = None,
    config: ConfigOption = None,
) -> None:
    """Delete cached exports (all, those matching PATTERN, or only failures with --failed)."""
    from suite.backends.ort.cache import clear_entries, list_entries
    from suite.cli.console import stdout_console

    root = resolve_root(directory, config)
    sizes = {e.path: e.size_bytes() for e in list_entries(root, pattern)}
    removed = clear_entries(root, pattern, failed_only=failed)
    freed = sum(sizes.get(e.path, 0) for e in removed)
    stdout_console().print(f"Removed {len(removed)} entr{'y' if len(removed) == 1 else 'ies'} "
                           f"({fmt_bytes(freed)}) from {root}", highlight=False)


def register(app: typer.Typer) -> None:
    cache_app = typer.Typer(help="List or clear the ONNX export cache (exports are reused across runs).",
                            no_args_is_help=True)
    cache_app.command("ls")(ls_cmd)
    cache_app.command("clear")(clear_cmd)
    app.add_typer(cache_app, name="cache")
