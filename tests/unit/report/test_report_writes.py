"""Writing the report where it cannot be written: a file where a folder should be, a read-only
folder, a full disk (a real one: a small tmpfs, when the tests run as root). Each is one
paragraph and exit status 2, no traceback; no truncated file is left behind; after a complete
`bench run`, the message says that the results are saved and how to write the report elsewhere."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from service_check import service_missing

FIX = Path(__file__).resolve().parents[2] / "fixtures"
RESULTS = FIX / "results" / "rpi5.json"
TINY = FIX / "models" / "crash_tiny.py"


def bench(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, ORT_DISABLE_TELEMETRY="1", COLUMNS="300")
    return subprocess.run([sys.executable, "-m", "suite", *args], capture_output=True, text=True, env=env, timeout=300)


def one_paragraph(res: subprocess.CompletedProcess, *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    text = res.stderr.strip()
    if "\nerror: " in text:  # after a run's progress lines
        text = text[text.index("\nerror: ") + 1:]
    assert "Traceback" not in text and text.startswith("error: ") and "\n\n" not in text, text
    flat = " ".join(text.split())
    for needle in needles:
        assert needle in flat, flat
    return flat


@contextlib.contextmanager
def tmpfs(where: Path, size: str, *options: str) -> Iterator[Path]:
    """A real small file system mounted at `where` (root only: CI runs as root, so there a failed
    mount fails the test; a developer's unprivileged run skips it)."""
    if os.geteuid() != 0:
        service_missing("mounting a tmpfs needs root")
    where.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join([f"size={size}", *options]), "tmpfs", str(where)],
                         capture_output=True, text=True)
    if res.returncode != 0:
        service_missing(f"cannot mount a tmpfs here: {res.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def no_partial_files(folder: Path) -> list[Path]:
    """Every file under `folder` is complete: no temporary leftovers, every SVG closed, every PNG whole."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert not [p for p in files if p.name.endswith(".tmp") or p.name.startswith(".")], files
    for p in files:
        if p.suffix == ".svg":
            assert p.read_bytes().rstrip().endswith(b"</svg>"), p
        if p.suffix == ".png":
            assert p.read_bytes().endswith(b"IEND\xaeB`\x82"), p
        if p.suffix == ".html":
            assert p.read_text(encoding="utf-8").rstrip().endswith("</html>"), p
    return files


def test_report_into_a_file_posing_as_a_folder(tmp_path):
    blocker = tmp_path / "hostname"
    blocker.write_text("a file\n")
    res = bench("report", str(RESULTS), "-o", str(blocker / "report.html"), "--no-figures")
    one_paragraph(res, "Cannot write the report", f"{blocker} is a file, not a folder")


def test_report_into_a_read_only_folder(tmp_path):
    if os.geteuid() == 0:
        ctx = tmpfs(tmp_path / "ro", "1m", "ro")
    else:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        ctx = contextlib.nullcontext(ro)
    with ctx as ro:
        res = bench("report", str(RESULTS), "-o", str(ro / "report.html"), "--no-figures")
        one_paragraph(res, f"Cannot write the report to {ro}", "not writable")
        assert not list(ro.iterdir())


def test_report_onto_a_full_disk_leaves_no_truncated_file(tmp_path):
    with tmpfs(tmp_path / "small", "96k") as small:
        res = bench("report", str(RESULTS), "-o", str(small / "r"))
        one_paragraph(res, "Cannot write the report to", "No space left on device", "Choose another place with -o")
        no_partial_files(small)


def test_a_full_disk_at_the_end_of_a_run_says_the_results_are_saved(tmp_path):
    cfg = tmp_path / "few-samples.toml"  # a small results file (few samples), a report that does not fit
    cfg.write_text(f'models = ["{TINY}"]\nbackends = ["eager"]\nbatch_sizes = [1]\n'
                   "[timing]\nwarmup_max = 3\nmin_iters = 10\nmax_iters = 10\nmin_time_s = 0\n"
                   "[energy]\nenabled = false\n")
    with tmpfs(tmp_path / "small", "128k") as small:
        res = bench("run", "-c", str(cfg), "-o", str(small / "run"))
        results = list((small / "run").glob("results-*.json"))
        assert len(results) == 1, (res.stdout, res.stderr)
        flat = one_paragraph(res, f"The run finished and its results are saved in {results[0]}",
                             "but the report could not be written", "No space left on device",
                             f"bench report {results[0]} -o FOLDER")
        doc = json.loads(results[0].read_text(encoding="utf-8"))
        assert doc["finished_at"] and len(doc["cases"]) == 1 and doc["cases"][0]["status"] == "ok", flat
        no_partial_files(small)
