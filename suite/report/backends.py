"""How the report shows a backend: its place in tables and legends, and its line and marker in figures.

The one place in suite.report that knows backend names, so that it can later read them from a
central backend table; a backend not named here sorts after the known ones and gets a style of
its own.
"""

from __future__ import annotations

from suite.comparisons import BASELINE

BASELINE_BACKEND = BASELINE  # the backend every ratio is relative to

_ORDER = {"eager": 0, "ort": 1, "ort-int8": 2}
_UNKNOWN_ORDER = 9

# (matplotlib line style, marker): told apart without colour, which marks the device.
_STYLES = {"eager": ("-", "o"), "ort": ("--", "s"), "ort-int8": (":", "^")}
_UNKNOWN_STYLE = ("-.", "D")


def backend_order(name: str) -> tuple[int, str]:
    """Sort key: the known backends in their order, then the others by name."""
    return (_ORDER.get(name, _UNKNOWN_ORDER), name)


def backend_style(name: str) -> tuple[str, str]:
    """(line style, marker) of a backend in the figures."""
    return _STYLES.get(name, _UNKNOWN_STYLE)
