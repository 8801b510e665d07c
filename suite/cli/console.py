"""Shared terminal output helpers (rich, imported lazily)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType
    from rich.segment import Segment

# Piped output (CI logs, `| tee`) gets a wide fixed width instead of rich's 80 columns, so
# result tables are not squeezed into unreadable cells.
PIPED_WIDTH = 160


def _console(stderr: bool) -> Console:
    """A console that prints text as it is: no markup, no emoji codes. Names, paths, messages and
    methods come from results files, caches, model files and the command line, and `[/bold]` in
    one must not raise a MarkupError, nor `[link=...]` become a live terminal hyperlink, nor
    `:warning:` an emoji. A print that styles its own words passes `markup=True` and escapes
    (rich.markup.escape) every piece of data it puts between them; tables style with Text."""
    stream = sys.stderr if stderr else sys.stdout
    width = None if stream.isatty() else PIPED_WIDTH
    return _safe_console_class()(stderr=stderr, width=width, markup=False, emoji=False)


_SAFE_CONSOLE: type[Console] | None = None


def _safe_console_class() -> type[Console]:
    """A rich Console that neutralises control and bidi characters in every piece of text it
    writes (suite.report.format.neutralize), wherever the text came from: a model name, an
    error message or a path in a results file reaches the terminal as visible escapes, never as
    a live escape sequence. Rich's own styling is not text (it is rendered from each segment's
    style afterwards), and its cursor movements are control segments, which pass untouched."""
    global _SAFE_CONSOLE
    if _SAFE_CONSOLE is None:
        from rich.console import Console
        from rich.segment import Segment

        from suite.report.format import neutralize

        class SafeConsole(Console):
            def render(self, renderable: RenderableType, options: ConsoleOptions | None = None) -> Iterable[Segment]:
                for segment in super().render(renderable, options):
                    if segment.control or not segment.text:
                        yield segment
                    else:
                        text = neutralize(segment.text)
                        yield segment if text == segment.text else Segment(text, segment.style)

        _SAFE_CONSOLE = SafeConsole
    return _SAFE_CONSOLE


def stderr_console() -> Console:
    return _console(stderr=True)


def stdout_console() -> Console:
    return _console(stderr=False)


def print_error(message: str) -> None:
    from rich.markup import escape

    stderr_console().print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    sys.stderr.flush()
