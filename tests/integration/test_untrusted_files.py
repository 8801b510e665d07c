"""Files the suite reads are data, through the installed `bench` (issue 23): a FIFO, a symlink to
/dev/zero or a huge file given as a results file, or sitting at the ceilings cache's path, never
hangs a command (`report`, `compare`, `run --resume`: exit 2 and one paragraph; `peak`: measured
again, saying why); a ceilings cache that lies is measured again; and Rich markup in data (a
cached kernel's method, a factory argument) is printed as the text it is."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from console_script import installed_bench, usage_error

from suite.metrics import peak
from suite.results.io import RESULTS_MAX_BYTES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "results"
GOOD = FIXTURES / "regression-base.json"
MARKUP = "[/bold] [link=https://evil.example]click[/link] :warning:"
ANSI_CSI = re.compile(r"\x1b\[[0-9;]*m")


def plain(text: str) -> str:
    """Terminal output without its colour codes, on one line."""
    return " ".join(ANSI_CSI.sub("", text).split())


@pytest.fixture(params=["fifo", "dev-zero symlink", "2 GiB sparse file"])
def not_a_results_file(request, tmp_path) -> tuple[Path, str]:
    path = tmp_path / "results-x.json"
    if request.param == "fifo":
        os.mkfifo(path)
        return path, "a named pipe (FIFO), not a regular file: only regular files are read"
    if request.param == "dev-zero symlink":
        path.symlink_to("/dev/zero")
        return path, "a character device, not a regular file: only regular files are read"
    with open(path, "wb") as fh:
        fh.truncate(2 * RESULTS_MAX_BYTES)
    return path, "2,048 MiB, larger than the 1024 MiB read at most for such a file"


def test_report_compare_and_resume_refuse_what_is_not_a_regular_file(tmp_path, not_a_results_file):
    path, reason = not_a_results_file
    for args in (["report", str(path), "-o", str(tmp_path / "r")], ["compare", str(path), str(GOOD)],
                 ["compare", str(GOOD), str(path)], ["run", "--resume", str(path)]):
        text = usage_error(installed_bench(*args, timeout=60))  # a read that blocks fails on the timeout
        assert str(path) in text and reason in text, (args, text)
    # a folder holding it: the report reads the good files beside it and names the bad one
    folder = path.parent
    (folder / "good.json").write_bytes(GOOD.read_bytes())
    res = installed_bench("report", str(folder), "-o", str(tmp_path / "r2"), "--format", "md", timeout=120)
    assert res.returncode == 0, res.stderr
    if not path.is_fifo() and not path.is_symlink():  # a folder's scan lists regular files only
        assert reason in " ".join(res.stderr.split())


def _cache_env(tmp_path: Path) -> dict[str, str]:
    return {"BENCH_PEAKS_DIR": str(tmp_path / "peaks"), "FORCE_COLOR": "1"}


@pytest.fixture(scope="module")
def measured():
    return peak.measure_peaks("cpu", 1, budget_s=0.3)


def _write_cache(tmp_path: Path, record) -> Path:
    path = tmp_path / "peaks" / f"{record.key}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(record.model_dump_json())
    return path


def test_peak_prints_markup_in_a_cached_method_as_text(tmp_path, measured):
    mm = measured.gemm["torch.mm"]
    record = measured.model_copy(update={"gemm": {**measured.gemm, "torch.mm": mm.model_copy(
        update={"method": f"torch.mm {MARKUP}"})}})
    _write_cache(tmp_path, record)
    res = installed_bench("peak", "--threads", "1", env_extra=_cache_env(tmp_path), columns=400)
    assert res.returncode == 0, res.stderr
    out = res.stdout + res.stderr
    assert "\x1b]8;" not in out  # no live terminal hyperlink
    assert MARKUP.replace(":warning:", "") in plain(out) and ":warning:" in out  # nor an emoji
    assert "from the cache" in out


@pytest.mark.parametrize("what", ["lie", "fifo"])
def test_peak_measures_again_when_the_cache_cannot_be_believed(tmp_path, measured, what):
    if what == "lie":  # the 1e30 roofs
        path = _write_cache(tmp_path, measured.model_copy(update={"gemm_flops_s": 1e30, "bandwidth_bytes_s": 1e30}))
        reason = ("its GEMM roof, 1e+30 FLOP/s, is outside what a cpu device could do with 1 thread(s) "
                  "(1e+07 FLOP/s to 4e+12 FLOP/s)")
    else:
        path = tmp_path / "peaks" / f"{measured.key}.json"
        path.parent.mkdir()
        os.mkfifo(path)
        reason = "a named pipe (FIFO), not a regular file: only regular files are read"
    res = installed_bench("peak", "--threads", "1", "--json", env_extra=_cache_env(tmp_path), timeout=180)
    assert res.returncode == 0, res.stderr
    assert f"Cached ceilings not used: {path}: {reason}. Measuring again" in plain(res.stderr)
    fresh = json.loads(res.stdout)  # --json's stdout is the document alone
    assert not fresh["cached"] and 1e7 < fresh["gemm_flops_s"] < 1e13
    assert path.is_file() and json.loads(path.read_text())["gemm_flops_s"] == fresh["gemm_flops_s"]


def test_markup_in_a_factory_argument_is_printed_as_text(tmp_path):
    (tmp_path / "t.py").write_text("import torch\nINPUT_SHAPE = (16,)\n\n\ndef create_model(tag='x'):\n"
                                   "    return torch.nn.Linear(16, 4)\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('backends = ["eager"]\nthreads = 1\n[timing]\nwarmup_min = 1\nwarmup_max = 2\nmin_iters = 3\n'
                   "min_time_s = 0\nmax_time_s = 0.1\n[energy]\nenabled = false\n")
    spec = "t.py::tag=[/bold][link=https://e.x]c[/link]"  # short: the summary's model column shows it whole
    res = installed_bench("run", "-c", str(cfg), "-m", spec, "-b", "1", "--no-peaks", "--no-report", "-o", "out",
                          cwd=tmp_path, env_extra={"FORCE_COLOR": "1"}, columns=400, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "\x1b]8;" not in res.stdout + res.stderr
    assert f"│ {spec} │" in plain(res.stdout)  # the summary table's model column, as given
    (results,) = (tmp_path / "out").glob("results-*.json")
    assert json.loads(results.read_text())["cases"][0]["spec"]["model"] == spec


def _with_roofs(tmp_path: Path, name: str, gemm: float, bandwidth: float, fraction: float) -> Path:
    """The baseline fixture with stored ceilings and every case placed under them."""
    from suite.results.io import load_results, save_results
    from suite.results.schema import DevicePeaks, RooflineResult

    run = load_results(GOOD)
    run.environment.peaks = [DevicePeaks.model_construct(
        device="cpu", threads=run.cases[0].spec.threads, gemm_flops_s=gemm, gemm={}, bandwidth_bytes_s=bandwidth,
        bandwidth={}, measured_at=run.created_at, duration_s=1.0, cached=False, key="")]
    for c in run.cases:
        c.roofline = RooflineResult.model_construct(
            achieved_flops_s=2e10, peak_flops_s=gemm, peak_bandwidth_bytes_s=bandwidth, arithmetic_intensity=4.0,
            attainable_flops_s=2e10 / fraction, fraction_of_roof=fraction, bound="memory", method="test")
    path = tmp_path / name
    save_results(run, path)  # model_construct: written as given, as a hand edit would be
    return path


def test_the_report_refuses_zero_ceilings_and_flags_impossible_ones(tmp_path):
    for field in ("bandwidth_bytes_s", "gemm_flops_s"):
        zero = _with_roofs(tmp_path, f"zero-{field}.json", 0.0 if field == "gemm_flops_s" else 2e11,
                           0.0 if field == "bandwidth_bytes_s" else 4e10, 0.5)
        text = usage_error(installed_bench("report", str(zero), "-o", str(tmp_path / "r0")))
        assert f"field 'environment.peaks.0.{field}': Input should be greater than 0" in text
    # roofs a device cannot have (the 1e30): read, drawn, and every case's % of roof flagged
    huge = _with_roofs(tmp_path, "huge.json", 1e30, 1e30, 1e-19)
    above = _with_roofs(tmp_path, "above.json", 2e11, 4e10, 2.5)
    for path, code in ((huge, "BADROOF"), (above, "ROOF")):
        out = tmp_path / f"r-{path.stem}"
        res = installed_bench("report", str(path), "-o", str(out), timeout=300)
        assert res.returncode == 0, res.stderr
        md = (out / "report.md").read_text()
        rows = [line for line in md.splitlines() if line.startswith("| Core i7") and "GFLOP/s |" in line]
        assert len(rows) == 8 and all(row.endswith(f"% \u26a0{code} |") for row in rows), (code, rows[:2])
        assert "of its roof at batch" not in md  # nothing explained from a roof that cannot be
        assert "roofline" in "".join(p.name for p in (out / "report-figures").iterdir())
