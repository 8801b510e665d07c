"""Run the planned cases one after another, saving the results file after every case.
Never prints: progress goes to a callback.

Each case runs in its own worker process (suite/run/group.py). Around each case the parent
watches the machine (suite/monitor) and, when asked, waits for the CPU to cool down first.
The results file is locked while a run writes it (suite/results/lock.py), so a second
`bench run --resume` of the same run is refused instead of interleaving two writers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from suite.config.bench_config import BenchConfig
from suite.energy import BaselineSchedule, IdleBaseline
from suite.energy.select import MeterProbe, probe_once
from suite.errors import BenchError
from suite.machine.audit_store import load_for
from suite.machine.environment import collect_environment, default_threads
from suite.machine.monitor import CaseWatch, Monitor, wait_for_cooldown
from suite.metrics.peak_cache import peaks_for_run
from suite.plan.preflight import (
    check_dependencies,
    check_inputs,
    check_threads,
    plan_or_explain,
)
from suite.plan.sweep import PlannedCase
from suite.results.comparisons import new_comparisons, pair_key
from suite.results.flags import flag, unique
from suite.results.io import remove_stale_temporaries, save_results
from suite.results.lock import results_lock
from suite.results.schema import (
    CaseResult,
    Comparison,
    Conditions,
    Environment,
    Flag,
    RunResult,
    utc_now,
)
from suite.run.budget import Budget, known_results
from suite.run.case_parts import CaseContext
from suite.run.evaluation import link_accuracy
from suite.run.events import (
    BaselineWindow,
    CaseEnded,
    CaseStarted,
    CooldownEnded,
    CoolingDown,
    Note,
    PeaksNote,
    Progress,
    RunEnded,
    RunStarted,
    RunWarning,
    Saved,
    ignore,
)
from suite.run.group import execute_group
from suite.run.interrupts import stop_signals_deferred
from suite.run.repeats import merge_repeats
from suite.run.resume import check_resumable, check_same_machine, resume_command
from suite.version import __version__


@dataclass
class RunOptions:
    output: Path | None = None  # results file path
    command: list[str] = field(default_factory=list)
    progress: Progress | None = None
    resume: RunResult | None = None  # an interrupted run to continue
    only: frozenset[str] | None = None  # run only these case ids (bench verify)


def results_path(out_dir: Path, run_id: str) -> Path:
    return out_dir / f"results-{run_id}.json"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def run_benchmark(config: BenchConfig, options: RunOptions | None = None) -> RunResult:
    opts = options or RunOptions()
    emit = opts.progress or ignore
    check_dependencies(config)
    threads = config.threads or default_threads()
    check_threads(threads)
    cases = plan_or_explain(config, threads)
    check_inputs(config, cases, note=lambda text: emit(Note(text)))
    if opts.only is not None:
        cases = [c for c in cases if c.spec.case_id in opts.only]
    if opts.resume is not None:
        run = opts.resume
        check_resumable(run, config)
        check_same_machine(run, collect_environment())
        done = {c.id for c in run.cases}
        todo = [c for c in cases if c.spec.case_id not in done]
        run.interrupted = False
    else:
        run = RunResult(
            suite_version=__version__, run_id=new_run_id(), created_at=utc_now(), command=opts.command,
            config=config.model_dump(mode="json"), config_hash=config.digest(), environment=collect_environment(),
        )

        run.environment.fairness = load_for(threads)  # this machine's `bench audit`, when one was run
        todo = cases
    path = opts.output or results_path(Path(config.output_dir), run.run_id)
    with results_lock(path):
        # Holding the lock, no other run writes this file: a temporary beside it is what a
        # kill (SIGKILL, power cut) left in the middle of a save.
        for stale in remove_stale_temporaries(path):
            emit(RunWarning(f"removed {stale.name}, a save of {path.name} cut short when the run was killed"))
        run.finished_at = None
        _save(run, path, emit)
        emit(RunStarted(total=len(cases), todo=len(todo), path=path, run=run))
        monitor = _monitor(config, emit)
        baselines = _baseline_schedule(config)
        ctx = CaseContext(config=config, meter_probe=_probe_meter(config), repeats=config.repeats)
        if config.peaks and todo:
            ctx.peaks = run.environment.peaks = peaks_for_run(
                run.environment.peaks, {(c.spec.device, c.spec.threads) for c in todo}, _peak_messages(emit))
        emulated = emulation_flags(run.environment)
        budget = _plan(config, todo, ctx, run, opts.resume is not None, emit)
        config = ctx.config = budget.config  # the timing policy a budget shrank, if it did
        i = 0
        try:
            groups = case_groups(todo, config.interleave)
            for g, group in enumerate(groups):
                if budget.over(group):
                    budget.stopped = [p.spec.label for rest in groups[g:] for p in rest]
                    break
                started = time.perf_counter()
                per_process: list[list[CaseResult]] = []
                for k in range(config.repeats):
                    cooldown_flags = _cool_down(config, monitor, emit)
                    if baselines is not None and baselines.due():
                        ctx.idle_baseline = _idle_baseline(baselines, emit)
                    emit(CaseStarted(index=i, case=group[0].spec, group=tuple(p.spec for p in group), repeat=k,
                                     repeats=config.repeats))
                    ctx.repeat = k
                    per_process.append(_execute_watched(group, ctx, monitor if config.monitor.enabled else None,
                                                        [*cooldown_flags, *emulated]))
                    if all(r.status == "failed" for r in per_process[-1]):
                        break  # a worker that crashed: no point in crashing it K times
                # From the moment the group's workers are done until the file holds its cases, a
                # stop signal waits (and is acted on after the save): merging, linking accuracy and
                # comparing import numpy and scipy the first time, and a signal cutting such an
                # import short leaves a half-imported module that breaks the rescue save below.
                budget.spent_s += time.perf_counter() - started
                with stop_signals_deferred():
                    for j in range(len(group)):
                        result = merge_repeats([results[j] for results in per_process], config.timing)
                        result = budget.with_estimate(result)
                        if config.dataset is not None:
                            result = link_accuracy(result, run.cases)
                        run.cases.append(result)
                        run.comparisons += _with_flags(new_comparisons(run.cases, run.comparisons), emulated)
                        _save(run, path, emit)
                        emit(CaseEnded(index=i, result=result))
                        i += 1
            with stop_signals_deferred():  # a signal now is acted on once the file says "finished"
                if budget.stopped:  # saved as unfinished: --resume runs the rest
                    run.interrupted = True
                    emit(RunWarning(f"--budget {config.budget_s:g} s reached after {budget.spent_s:.0f} s: "
                                    f"{len(budget.stopped)} case(s) left ({'; '.join(budget.stopped)}). Run them "
                                    f"with: {resume_command(config, path)}"))
                else:
                    run.finished_at = utc_now()
                _save(run, path, emit)
        except BaseException:
            # Ctrl-C, SIGTERM (see stop_on_signals), a full disk: keep every finished case. A
            # second Ctrl-C while this writes is already answered: the run is stopping. A run
            # already marked finished is complete on disk: nothing to rescue.
            if run.finished_at is None:
                _save_stopped(run, path, emit, emulated)
            raise
    emit(RunEnded(path=path, run=run))
    return run


def _plan(config: BenchConfig, todo: list[PlannedCase], ctx: CaseContext, run: RunResult, resumed: bool,
          emit: Progress) -> Budget:
    """Each case's estimated wall time (suite/plan/wall_time.py), said before the run; a budget
    shrinks the timed loops (not again on --resume: the saved configuration holds the shrunk one)."""
    budget = Budget.make(config, todo, ctx.peaks, known_results(Path(config.output_dir), run.cases),
                         shrink=not resumed)
    emit(Note(budget.note()))
    for warning in budget.warnings():
        emit(RunWarning(warning))
    if budget.shrunk:
        run.config, run.config_hash = budget.config.model_dump(mode="json"), budget.config.digest()
    return budget


def emulation_flags(env: Environment) -> list[Flag]:
    """The flag every case and comparison of an emulated run carries (none on a native machine)."""
    if not env.emulation:
        return []
    return [flag("emulated", f"Measured under CPU emulation ({env.emulation}): not representative of any "
                             f"{env.machine} device")]


def _peak_messages(emit: Progress) -> Callable[[str, dict[str, str]], None]:
    """suite.metrics.peak_cache tells its warnings and notes as (kind, {"message": ...}): as events."""
    def tell(kind: str, data: dict[str, str]) -> None:
        emit(RunWarning(data["message"]) if kind == "warning" else PeaksNote(data["message"]))
    return tell


def _with_flags(comparisons: list[Comparison], extra: list[Flag]) -> list[Comparison]:
    if not extra:
        return comparisons
    return [c.model_copy(update={"flags": unique([*c.flags, *extra])}) for c in comparisons]


def _save_stopped(run: RunResult, path: Path, emit: Progress, emulated: list[Flag]) -> None:
    """The rescue save of a run that is stopping: marked interrupted, with every case it holds.
    The comparisons are derived data (the report derives any that are missing from the
    samples): failing to compute them, e.g. because the signal cut an import of numpy short,
    must not cost the cases."""
    run.interrupted = True
    try:
        run.comparisons += _with_flags(new_comparisons(run.cases, run.comparisons), emulated)
    except Exception:  # noqa: BLE001 - see the docstring
        pass
    _save(run, path, emit, stopping=True)


def _save(run: RunResult, path: Path, emit: Progress, stopping: bool = False) -> None:
    """Save the whole run; a stop signal arriving meanwhile waits until the file is complete (and
    is acted on after it, unless the run is `stopping` already). Emits "saved" with the number
    of cases now on disk: what an interruption message may claim."""
    with stop_signals_deferred(act_after=not stopping):
        try:
            save_results(run, path)
        except OSError as exc:
            raise BenchError(f"Cannot write the results file {path}: {exc.strerror or exc}. Every case finished "
                             "before this one is in the file as it was last saved.") from None
        emit(Saved(path=path, cases=len(run.cases)))


def _baseline_schedule(config: BenchConfig) -> BaselineSchedule | None:
    """When to measure idle power (suite.energy.BaselineSchedule); None without energy."""
    if not config.energy.enabled:
        return None
    return BaselineSchedule(config.energy)


def _idle_baseline(baselines: BaselineSchedule, emit: Progress) -> IdleBaseline | None:
    """Measure the idle baseline; on failure keep the previous one (energy then reported gross
    only, or against an older baseline). The schedule counts a failure as an attempt, so a
    meter that fails is not retried before every case."""
    try:
        baselines.measure(on_window=lambda seconds: emit(BaselineWindow(seconds)))
    except Exception as exc:
        emit(RunWarning(f"idle baseline not measured: {exc}"))
    return baselines.baseline


# --------------------------------------------------------------------------- conditions


def _monitor(config: BenchConfig, emit: Progress) -> Monitor | None:
    """The machine watcher, or None when neither watching nor cool-down is wanted."""
    if not config.monitor.enabled and config.cooldown_temp_c is None:
        return None

    try:
        monitor = Monitor(config.monitor)
    except Exception as exc:  # watching is a help, never a reason to stop the run
        emit(RunWarning(f"machine conditions not watched: {type(exc).__name__}: {exc}"))
        return None
    if config.monitor.enabled:
        for message in monitor.startup_warnings():
            emit(RunWarning(message))
    if config.cooldown_temp_c is not None and not monitor.has_temperature:
        emit(RunWarning(f"cooldown_temp_c = {config.cooldown_temp_c:g} is set but no CPU temperature sensor was "
                        f"found under {monitor.root / 'sys/class/thermal'}; cases run without cool-down"))
    return monitor


def _cool_down(config: BenchConfig, monitor: Monitor | None, emit: Progress) -> list[Flag]:
    if config.cooldown_temp_c is None or monitor is None or not monitor.has_temperature:
        return []

    target = config.cooldown_temp_c
    res = wait_for_cooldown(
        monitor.temperature_c, target, config.cooldown_max_s,
        on_wait=lambda temp_c, waited_s: emit(CoolingDown(temp_c=temp_c, target_c=target, waited_s=waited_s,
                                                          max_s=config.cooldown_max_s)),
    )
    if res is None:
        return []
    emit(CooldownEnded(temp_c=res.end_c, target_c=target, waited_s=res.waited_s, reached=res.reached))
    return [flag("cooldown_timeout", res.flag)] if res.flag else []


def case_groups(cases: list[PlannedCase], interleave: bool) -> list[list[PlannedCase]]:
    """The cases in the order planned, those of one model x batch x size (x resize) together when
    interleaving (the plan lists a shape's backends next to each other); else one case each."""
    if not interleave:
        return [[c] for c in cases]

    groups: list[list[PlannedCase]] = []
    for c in cases:
        if groups and pair_key(groups[-1][0].spec) == pair_key(c.spec):
            groups[-1].append(c)
        else:
            groups.append([c])
    return groups


def _probe_meter(config: BenchConfig) -> MeterProbe | None:
    """The run's energy meter, probed once here and handed to every worker (None: none works, or
    no energy; each worker then says why in its own case)."""
    if not config.energy.enabled or config.isolation == "inline":
        return None
    try:
        return probe_once(config.energy)
    except Exception:  # the cases record why energy failed, as before
        return None


def _execute_watched(group: list[PlannedCase], ctx: CaseContext, monitor: Monitor | None,
                     extra_flags: list[Flag]) -> list[CaseResult]:
    if monitor is None:
        return [with_conditions(r, None, extra_flags) for r in execute_group(group, ctx)]
    with monitor.watch(group[0].spec.device) as watch:
        results = execute_group(group, ctx)
    return [with_conditions(r, watch, extra_flags) for r in results]


def with_conditions(result: CaseResult, watched: CaseWatch | None, extra_flags: list[Flag] | None = None) -> CaseResult:
    """Attach what the machine was doing (a monitor's CaseWatch, or None); its flags join the
    case's own, each reason once."""
    conditions = None if watched is None else watched.conditions
    flags = [*(watched.flags if watched is not None else []), *(extra_flags or [])]
    if conditions is None and not flags:
        return result
    return result.model_copy(update={"conditions": conditions or Conditions(),
                                     "flags": unique([*result.flags, *flags])})
