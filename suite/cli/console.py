"""Shared terminal output helpers (rich, imported lazily)."""

from __future__ import annotations

import sys


def stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def stdout_console():
    from rich.console import Console

    return Console()


def print_error(message: str) -> None:
    from rich.markup import escape

    stderr_console().print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.stderr.flush()
