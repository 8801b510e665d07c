"""`bench` as a user runs it: the console script pip installed next to this Python (scripts/setup.sh
installs the suite editable, so it runs this checkout's code)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = Path(sys.executable).parent / "bench"


def installed_bench(*args: str, cwd: Path | None = None, timeout: float = 300,
                    env_extra: dict[str, str] | None = None, columns: int = 300) -> subprocess.CompletedProcess:
    """Run the installed `bench`. A missing script is a broken set-up, never a reason to skip:
    these tests exist to check what the installed entry point does."""
    return subprocess.run([str(script()), *args], capture_output=True, text=True, env=script_env(env_extra, columns),
                          timeout=timeout, cwd=cwd, check=False)


def script() -> Path:
    """The installed script's path; a missing one fails the test."""
    if not SCRIPT.is_file():
        pytest.fail(f"no installed console script at {SCRIPT}: scripts/setup.sh installs it (pip install -e .)",
                    pytrace=False)
    return SCRIPT


def script_env(env_extra: dict[str, str] | None = None, columns: int = 300) -> dict[str, str]:
    extra = dict(env_extra or {})
    # This checkout first (the script may come from another editable install), after any path the
    # caller puts in front (e.g. a module blocker).
    paths = [extra.pop("PYTHONPATH", ""), str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "ORT_DISABLE_TELEMETRY": "1", "COLUMNS": str(columns), **extra,
            "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def blocker(tmp_path: Path, *modules: str) -> dict[str, str]:
    """Environment that makes `modules` unimportable in a child Python, as if not installed."""
    site = tmp_path / "blocker"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text("import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules))
    return {"PYTHONPATH": str(site)}


def usage_error(res: subprocess.CompletedProcess) -> str:
    """Assert that the installed `bench` refused a usage mistake the way every one must be refused
    (exit 2, one paragraph starting "error: ", no traceback) and return the paragraph on one line."""
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr + res.stdout
    text = res.stderr.strip()
    assert text.startswith("error: ") and "\n\n" not in text, text
    return " ".join(text.split())
