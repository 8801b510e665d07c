"""How the report shows a backend: its place in tables and legends, and its line and marker in
figures (colour marks the device). The report's own table: a results file names its backends, and
the report draws them without importing any (a broken or missing plugin never stops a report of
files that do not use it). A backend this table does not know (a plugin's) sorts after the known
ones, by name, and shares one style.
"""

from __future__ import annotations

from dataclasses import dataclass

from suite.results.schema import REFERENCE_BACKEND

BASELINE_BACKEND = REFERENCE_BACKEND  # the backend every ratio is relative to


@dataclass(frozen=True)
class BackendStyle:
    order: int  # position in tables, legends and figures
    linestyle: str | tuple[int, tuple[int, ...]]  # matplotlib's
    marker: str


STYLES: dict[str, BackendStyle] = {
    "eager": BackendStyle(0, "-", "o"),
    "eager-cl": BackendStyle(5, (0, (1, 1)), "P"),
    "ort": BackendStyle(10, "--", "s"),
    "ort-int8": BackendStyle(20, ":", "^"),
    "torch-compile": BackendStyle(30, (0, (5, 1, 1, 1)), "v"),
    "executorch": BackendStyle(40, (0, (3, 1)), "X"),
    "executorch-int8": BackendStyle(50, (0, (1, 2)), "*"),
    "openvino": BackendStyle(60, (0, (3, 1, 1, 1, 1, 1)), "h"),
}
UNKNOWN = BackendStyle(1000, "-.", "D")


def backend_order(name: str) -> tuple[int, str]:
    """Sort key: the known backends in their order, then the others by name."""
    return (STYLES.get(name, UNKNOWN).order, name or "")


def backend_style(name: str) -> tuple[str | tuple[int, tuple[int, ...]], str]:
    """(line style, marker) of a backend in the figures."""
    style = STYLES.get(name, UNKNOWN)
    return style.linestyle, style.marker
