"""Shared terminal output helpers (rich, imported lazily)."""

from __future__ import annotations

import sys

# Piped output (CI logs, `| tee`) gets a wide fixed width instead of rich's 80 columns, so
# result tables are not squeezed into unreadable cells.
PIPED_WIDTH = 160


def _console(stderr: bool):
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else PIPED_WIDTH
    return Console(stderr=stderr, width=width)


def stderr_console():
    return _console(stderr=True)


def stdout_console():
    return _console(stderr=False)


def print_error(message: str) -> None:
    from rich.markup import escape

    stderr_console().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.stderr.flush()
