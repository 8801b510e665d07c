"""What the CLI's unit tests share: a Typer app with one command module registered, for CliRunner."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
import typer


@pytest.fixture
def app_of() -> Callable[[ModuleType], typer.Typer]:
    def make(module: ModuleType) -> typer.Typer:
        app = typer.Typer(add_completion=False)

        @app.callback()
        def _root() -> None:
            """test app"""

        module.register(app)
        return app

    return make
