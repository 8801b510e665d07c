"""What the figure tests share: each figure drawn by the real code and saved by the real
finish_figure, its panels kept so that a test can read back what the axes plot."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest


@pytest.fixture
def keep_panels(monkeypatch) -> Callable[[ModuleType], dict]:
    """keep_panels(module) -> {figure id: the Panels its figure was drawn on}, filled as the
    module's figures are finished."""
    kept: dict = {}

    def spy_on(module: ModuleType) -> dict:
        real = module.finish_figure

        def spy(panels, fid, title, caption):
            kept[fid] = panels
            return real(panels, fid, title, caption)

        monkeypatch.setattr(module, "finish_figure", spy)
        return kept

    return spy_on
