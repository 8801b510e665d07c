"""The suite's version, in a module of its own: anything (the runner, the report, packaging)
can import it without importing the `suite` package's public API and what that pulls in.
Keep it equal to `version` in pyproject.toml."""

__version__ = "0.1.0"
