"""Running the Raspberry Pi firmware's `vcgencmd` (PMIC readings, throttling state): one way,
with one timeout and one wording of its failures, for the energy meter and the monitor."""

from __future__ import annotations

import subprocess

COMMAND_TIMEOUT_S = 2.0


def run_vcgencmd(argv: list[str], subcommand: str, error: type[Exception]) -> str:
    """stdout of `argv subcommand`; any failure (missing, not executable, too slow, non-zero
    exit with the last line it printed) is raised as `error`."""
    shown = f"`{' '.join([*argv, subcommand])}`"
    try:
        proc = subprocess.run([*argv, subcommand], capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT_S, check=False)
    except FileNotFoundError as exc:
        raise error(f"{argv[0]} not found") from exc
    except PermissionError as exc:
        raise error(f"{argv[0]} is not executable") from exc
    except subprocess.TimeoutExpired as exc:
        raise error(f"{shown} took over {COMMAND_TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise error(f"{shown} failed: {exc}") from exc
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout).strip().splitlines()
        raise error(f"{shown} exited {proc.returncode}" + (f": {msg[-1]}" if msg else ""))
    return proc.stdout
