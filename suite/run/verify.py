"""Does a results file replicate? Re-run a sample of its cases on the same machine and compare.

MLPerf Mobile's replicability rule: a re-run's median within 5% of the stored one. Each case
also says whether the new median falls inside the stored CI (which, from one process, often
it does not: the CI is the uncertainty of one process at one moment).

A results file is data: its saved configuration is used only under the rules of `--resume`
(suite/run/resume.py): nothing it names that imports a file or runs a program is run without
`--trust-config`, and only on the machine and software stack the file was measured on.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from suite.config.bench_config import BenchConfig, validate_config
from suite.errors import BenchError, ConfigError
from suite.machine.environment import collect_environment
from suite.results.io import load_results
from suite.results.schema import CaseResult, RunResult
from suite.run.events import Progress
from suite.run.resume import check_same_machine, code_it_runs
from suite.run.runner import RunOptions, results_path, run_benchmark

DEFAULT_TOLERANCE = 0.05  # MLPerf Mobile
DEFAULT_SAMPLE = 3


@dataclass(frozen=True)
class Verdict:
    case_id: str
    label: str
    stored_median_ms: float
    ci_low_ms: float
    ci_high_ms: float
    new_median_ms: float | None  # None: the re-run failed
    tolerance: float
    error: str | None = None

    @property
    def change(self) -> float | None:
        """Relative change of the median, new / stored - 1."""
        if self.new_median_ms is None:
            return None
        return self.new_median_ms / self.stored_median_ms - 1.0

    @property
    def inside_ci(self) -> bool:
        return self.new_median_ms is not None and self.ci_low_ms <= self.new_median_ms <= self.ci_high_ms

    @property
    def within_tolerance(self) -> bool:
        change = self.change
        return change is not None and abs(change) <= self.tolerance + 1e-12  # 10.5 vs 10 is 5%, not 5.0000001%

    @property
    def replicates(self) -> bool:
        return self.within_tolerance


def verdict(stored: CaseResult, new: CaseResult | None, tolerance: float = DEFAULT_TOLERANCE) -> Verdict:
    s = stored.latency.summary  # type: ignore[union-attr]  # sampled cases have latency
    new_median, error = None, None
    if new is None:
        error = "not re-run"
    elif new.status != "ok" or new.latency is None:
        error = f"{new.status}: {new.error.message if new.error else 'no latency'}"
    else:
        new_median = new.latency.summary.median_ms
    return Verdict(case_id=stored.id, label=stored.spec.label, stored_median_ms=s.median_ms,
                   ci_low_ms=s.median_ci_low_ms, ci_high_ms=s.median_ci_high_ms, new_median_ms=new_median,
                   tolerance=tolerance, error=error)


def choose_cases(run: RunResult, sample: int, seed: int = 0) -> list[CaseResult]:
    """`sample` of the file's measured cases (a seeded draw, in file order); all when fewer."""
    measured = [c for c in run.cases if c.status == "ok" and c.latency is not None and c.latency.summary.median_ms > 0]
    if not measured:
        raise BenchError(f"Run {run.run_id} has no measured case to verify (every case failed, was skipped or "
                         "has no latency).")
    if sample >= len(measured):
        return measured
    keep = set(random.Random(seed).sample(range(len(measured)), sample))
    return [c for i, c in enumerate(measured) if i in keep]


def verify_config(run: RunResult, source: Path, output_dir: Path, trust_config: bool) -> BenchConfig:
    """The saved configuration, checked like a resumed one, set to re-run quietly into `output_dir`
    (no energy window, no report: only the timed loop is compared)."""
    try:
        saved = validate_config(run.config, source=f"{source} (the saved configuration)")
    except ConfigError as exc:
        raise BenchError(f"Cannot verify run {run.run_id}: {exc}.") from None
    runs = code_it_runs(saved)
    if runs and not trust_config:
        what = "; ".join(f"{'imports the Python file' if field.startswith('models') else 'runs the command'} "
                         f"{value!r} ({field})" for field, value in runs)
        raise BenchError(f"Not verifying run {run.run_id} from {source}: its saved configuration {what}. A results "
                         "file is data, so re-running it imports or runs nothing it names unless you accept that: "
                         "read the file, then add --trust-config.")
    energy = saved.energy.model_copy(update={"enabled": False})
    return saved.model_copy(update={"output_dir": str(output_dir), "report": False, "energy": energy})


@dataclass(frozen=True)
class VerifyReport:
    run_id: str
    source: Path
    rerun_path: Path | None
    verdicts: list[Verdict]

    @property
    def replicates(self) -> bool:
        return all(v.replicates for v in self.verdicts)


def verify_results(path: Path, *, sample: int = DEFAULT_SAMPLE, tolerance: float = DEFAULT_TOLERANCE,
                   trust_config: bool = False, output_dir: Path, progress: Progress | None = None) -> VerifyReport:
    """Re-run `sample` cases of the results file `path` on this machine and judge each."""
    if sample < 1:
        raise BenchError(f"--sample must be at least 1 (got {sample}).")
    if not 0 < tolerance < 1:
        raise BenchError(f"--tolerance is a fraction of the median between 0 and 1, e.g. 0.05 (got {tolerance:g}).")
    stored = load_results(path)
    try:
        check_same_machine(stored, collect_environment())
    except BenchError as exc:
        raise BenchError(str(exc).replace("Cannot resume", "Cannot verify").replace(
            "start a new run instead", "verify it on the machine that measured it")) from None
    chosen = choose_cases(stored, sample)
    cfg = verify_config(stored, path, output_dir, trust_config)
    rerun = run_benchmark(cfg, RunOptions(command=["bench", "verify", str(path)], progress=progress,
                                          only=frozenset(c.id for c in chosen)))
    by_id = {c.id: c for c in rerun.cases}

    return VerifyReport(run_id=stored.run_id, source=path, rerun_path=results_path(output_dir, rerun.run_id),
                        verdicts=[verdict(c, by_id.get(c.id), tolerance) for c in chosen])
