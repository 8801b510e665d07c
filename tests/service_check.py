"""What a test does when a service it needs (a Docker engine, Chromium) is missing."""

from __future__ import annotations

import os

import pytest


def service_missing(what: str) -> None:
    """In CI (CI=true, where .ci/run installs and starts everything) a missing service is a
    failure of the set-up, never a silent skip; on a developer's machine the test is skipped,
    saying why."""
    if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
        pytest.fail(f"{what} (CI=true: .ci/run should have installed and started it)", pytrace=False)
    pytest.skip(what)
