"""The fresh process of a cold start (`python -m suite.run.cold_process SPEC_JSON`, one JSON line
out): the runtime's import is timed first, before anything of the suite is imported, so that it
holds every module the runtime needs (numpy, its own libraries) as an app's first import does.
Only then are the suite's steps imported (suite.run.cold_start `after_import`), by name: this
module imports nothing of the suite at its top on purpose."""

from __future__ import annotations

import importlib
import json
import sys
import time


def main(spec: dict[str, object]) -> dict[str, object]:
    entered = time.time()
    modules = [str(m) for m in spec["imported"]]  # type: ignore[attr-defined]  # a list in the spec
    t = time.perf_counter()
    for name in modules:
        importlib.import_module(name)
    import_s = time.perf_counter() - t
    rss = rss_bytes()  # before the suite's own modules add theirs
    steps = importlib.import_module("suite.run.cold_start")  # by name, after the timed import (see above)
    figures: dict[str, object] = steps.after_import(spec, import_s, entered, rss)
    return figures


def rss_bytes() -> int | None:
    """VmRSS of this process, read by hand (suite.worker's reader is the suite's, not imported yet)."""
    try:
        with open("/proc/self/status") as fh:
            return next((int(line.split()[1]) * 1024 for line in fh if line.startswith("VmRSS:")), None)
    except OSError:
        return None


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
