"""How the report shows a backend: its place in tables and legends, and its line and marker
in figures, read from the backend table (suite.backends). A backend the table does not know (a
plugin's results read without the plugin) sorts after the known ones and shares one style.
"""

from __future__ import annotations

from suite.backends import display_order, reference_backend, style

BASELINE_BACKEND = reference_backend()  # the backend every ratio is relative to


def backend_order(name: str) -> tuple[int, str]:
    """Sort key: the known backends in their order, then the others by name."""
    return display_order(name)


def backend_style(name: str) -> tuple[object, str]:
    """(line style, marker) of a backend in the figures."""
    return style(name)
