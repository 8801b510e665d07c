"""The suite's version, and the installed version of any distribution, in a module of its own:
anything (the runner, the report, packaging, the backends) can import it without importing the
`suite` package's public API and what that pulls in. Keep `__version__` equal to `version` in
pyproject.toml."""

from __future__ import annotations

from importlib import metadata

__version__ = "0.1.0"


def distribution_version(dist: str) -> str | None:
    """The installed version of the distribution named `dist` (package metadata only: nothing is
    imported); None when it is not installed."""
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None
