"""Run the planned cases, each in its own worker process with a timeout, saving the results
file after every case. Never prints: progress goes to a callback.

Workers come from a forkserver that has already imported torch (Linux), so each case
starts in milliseconds in a clean process whose crash, hang or memory blow-up cannot take
the run down; elsewhere they are spawned. A worker ignores Ctrl-C (the parent decides: save,
kill the worker, stop), dies with the forkserver when the run itself is killed, and may have
its memory capped (`worker_memory_limit_mb`).

Around each case the parent watches the machine (suite/monitor) and, when asked, waits for
the CPU to cool down first. The results file is locked while a run writes it, so a second
`bench run --resume` of the same run is refused instead of interleaving two writers.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from suite import __version__
from suite.config import BenchConfig
from suite.errors import BenchError, MissingDependencyError
from suite.measure import CaseContext, run_case
from suite.plan import PlannedCase, plan_cases
from suite.results.io import save_results
from suite.results.schema import CaseResult, Conditions, ErrorInfo, RunResult, utc_now

Progress = Callable[[str, dict[str, Any]], None]
PRELOAD = ["torch", "torchvision", "suite.measure"]


@dataclass
class RunOptions:
    output: Path | None = None  # results file path
    command: list[str] = field(default_factory=list)
    progress: Progress | None = None
    resume: RunResult | None = None  # an interrupted run to continue


def results_path(out_dir: Path, run_id: str) -> Path:
    return out_dir / f"results-{run_id}.json"


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def run_benchmark(config: BenchConfig, options: RunOptions | None = None) -> RunResult:
    from suite.comparisons import new_comparisons
    from suite.environment import collect_environment, default_threads

    opts = options or RunOptions()
    emit = opts.progress or (lambda event, data: None)
    check_dependencies(config)
    threads = config.threads or default_threads()
    cases = _plan(config, threads)
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
        todo = cases
    path = opts.output or results_path(Path(config.output_dir), run.run_id)
    with results_lock(path):
        run.finished_at = None
        _save(run, path)
        emit("start", {"total": len(cases), "todo": len(todo), "path": path, "run": run})
        monitor = _monitor(config, emit)
        ctx = CaseContext(config=config)
        baseline_at = -1e18
        try:
            for i, planned in enumerate(todo):
                cooldown_flags = _cool_down(config, monitor, emit)
                if config.energy.enabled and time.monotonic() - baseline_at > config.energy.baseline_every_s:
                    ctx.idle_baseline = _idle_baseline(config, ctx.idle_baseline, emit)
                    baseline_at = time.monotonic()
                emit("case_start", {"index": i, "case": planned.spec})
                result = _execute_watched(planned, ctx, monitor if config.monitor.enabled else None, cooldown_flags)
                run.cases.append(result)
                run.comparisons += new_comparisons(run.cases, run.comparisons)
                _save(run, path)
                emit("case_end", {"index": i, "result": result})
        except BaseException:
            # Ctrl-C, SIGTERM (see stop_on_signals), a full disk: keep every finished case.
            run.interrupted = True
            run.comparisons += new_comparisons(run.cases, run.comparisons)
            _save(run, path)
            raise
        run.finished_at = utc_now()
        _save(run, path)
    emit("end", {"path": path, "run": run})
    return run


def _save(run: RunResult, path: Path) -> None:
    try:
        save_results(run, path)
    except OSError as exc:
        raise BenchError(f"Cannot write the results file {path}: {exc.strerror or exc}. Every case finished "
                         "before this one is in the file as it was last saved.") from None


def _idle_baseline(config: BenchConfig, previous: Any, emit: Progress) -> Any:
    try:
        from suite import energy
        from suite.measure import energy_options

        opts = energy_options(config)
        meter = energy.select_meter(opts)
        try:
            emit("baseline", {"seconds": energy.window_s(meter, opts)})
            return energy.measure_idle(meter, opts, previous=previous)
        finally:
            meter.close()
    except Exception as exc:  # no baseline: energy is reported gross only
        emit("warning", {"message": f"idle baseline not measured: {exc}"})
        return previous


# --------------------------------------------------------------------------- isolation


def execute(planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    if ctx.config.isolation == "inline":
        return run_case(planned, ctx)
    return run_in_worker(planned, ctx, ctx.config.case_timeout_s)


_CONTEXT: Any = None


def _mp_context() -> Any:
    global _CONTEXT
    if _CONTEXT is None:
        if sys.platform.startswith("linux"):
            ctx = mp.get_context("forkserver")
            ctx.set_forkserver_preload([m for m in PRELOAD if _importable(m)])
            _start_forkserver_ignoring_ctrl_c()
        else:
            ctx = mp.get_context("spawn")
        _CONTEXT = ctx
    return _CONTEXT


def _start_forkserver_ignoring_ctrl_c() -> None:
    """Start the forkserver with SIGINT ignored, which it (and every worker) inherits across
    exec. Otherwise a Ctrl-C in the first seconds of a run, while it imports torch, kills it
    with a KeyboardInterrupt traceback on the terminal. The parent ignores SIGINT only for
    the fork+exec itself (milliseconds): the import happens in the forkserver afterwards."""
    from multiprocessing import forkserver

    if threading.current_thread() is not threading.main_thread():
        forkserver.ensure_running()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


def _importable(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module.split(".")[0]) is not None


def _worker(conn: Any, planned: PlannedCase, ctx: CaseContext) -> None:
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    # Ctrl-C reaches the whole process group. The parent decides what it means (save, kill
    # this worker, stop); a worker dying of it first would be recorded as a crashed case.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _exit_with_parent()
    try:
        if ctx.config.worker_memory_limit_mb is not None:
            limit_memory(ctx.config.worker_memory_limit_mb)
        result = run_case(planned, ctx)
        try:
            conn.send(result.model_dump_json())
        except OSError:  # the parent stopped (Ctrl-C, SIGTERM) while this case ran: nobody to tell
            pass
    finally:
        conn.close()


def run_in_worker(planned: PlannedCase, ctx: CaseContext, timeout_s: float) -> CaseResult:
    mpc = _mp_context()
    parent, child = mpc.Pipe(duplex=False)
    proc = mpc.Process(target=_worker, args=(child, planned, ctx), name=f"bench-case-{planned.spec.case_id}")
    started = utc_now()
    t0 = time.perf_counter()
    payload = None
    try:
        # start() inside the try: a stop signal during it must still reach the kill below
        proc.start()
        child.close()
        if parent.poll(timeout_s):
            try:
                payload = parent.recv()
            except EOFError:
                payload = None
        else:
            _kill(proc)
            return _failed(planned, started, t0, "timeout", f"case did not finish within {timeout_s:g} s (killed)")
        proc.join(timeout=30)
        if proc.is_alive():
            _kill(proc)
    except BaseException:
        _kill(proc)
        raise
    finally:
        parent.close()
        child.close()
    if payload is not None:
        return _explain_oom(CaseResult.model_validate_json(payload), ctx.config)
    code = proc.exitcode
    return _explain_oom(_failed(planned, started, t0, *describe_exit(code)), ctx.config)


def describe_exit(code: int | None) -> tuple[str, str]:
    import signal

    if code is not None and code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else f"signal {sig}"
        if sig == signal.SIGKILL:
            return "oom", f"worker killed by {name} (most likely the out-of-memory killer)"
        return "crash", f"worker died from {name}"
    return "crash", f"worker exited with status {code} without a result"


def _kill(proc: Any) -> None:
    if proc.pid is None:  # never started
        return
    if proc.is_alive():
        proc.kill()
    proc.join(timeout=10)


def _failed(planned: PlannedCase, started: Any, t0: float, kind: str, message: str) -> CaseResult:
    spec = planned.spec
    return CaseResult(spec=spec, id=spec.case_id, status="failed", error=ErrorInfo(kind=kind, message=message),
                      started_at=started, duration_s=time.perf_counter() - t0)


def check_resumable(previous: RunResult, config: BenchConfig) -> None:
    """Refuse to continue a run with a configuration other than the one it started with.

    The saved configuration is validated again and its digest compared with the one given
    now, both computed by this version of the suite (a digest stored by an older version
    may cover fields that have since been added)."""
    from suite.config import validate_config
    from suite.errors import ConfigError

    try:
        saved = validate_config(previous.config, source=f"the saved configuration of run {previous.run_id}")
    except ConfigError as exc:
        raise BenchError(f"Cannot resume run {previous.run_id}: {exc}. Start a new run instead.") from None
    if saved.digest() != config.digest():
        raise BenchError(
            f"Cannot resume run {previous.run_id}: the configuration given now differs from the saved one "
            f"({config_differences(saved, config)}). Resume with the same flags and config file (or none: "
            "the saved configuration is used), or start a new run in another folder."
        )


def config_differences(saved: BenchConfig, now: BenchConfig, limit: int = 3) -> str:
    """`batch_sizes: [1, 2] saved, [1, 4] now; ...` for the fields the digest covers."""
    exclude = {"output_dir", "report", "monitor"}
    a = _flatten(saved.model_dump(mode="json", exclude=exclude))
    b = _flatten(now.model_dump(mode="json", exclude=exclude))
    keys = [k for k in dict.fromkeys([*a, *b]) if a.get(k, "(unset)") != b.get(k, "(unset)")]
    parts = [f"{k}: {_short(a.get(k, '(unset)'))} saved, {_short(b.get(k, '(unset)'))} now" for k in keys[:limit]]
    more = f"; and {len(keys) - limit} more" if len(keys) > limit else ""
    return "; ".join(parts) + more if parts else "different settings"


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and k not in ("input_sizes", "overrides"):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _short(value: Any, width: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


# Fields of the environment that must match for two halves of one run to be comparable.
SAME_MACHINE_FIELDS = ("machine", "cpu_model", "cores_logical", "device_model")
SAME_PACKAGES = ("torch", "onnxruntime", "onnxruntime-gpu", "bench-suite")


def check_same_machine(previous: RunResult, env: Any) -> None:
    """A resumed run must continue on the same kind of machine with the same key packages:
    one results file holds one machine's numbers. (The hostname may differ: containers get
    a new one each time.)"""
    old = previous.environment
    diffs = [f"{f}: {getattr(old, f)!r} then, {getattr(env, f)!r} now"
             for f in SAME_MACHINE_FIELDS if getattr(old, f) != getattr(env, f)]
    diffs += [f"{p} {old.packages.get(p, 'absent')} then, {env.packages.get(p, 'absent')} now"
              for p in SAME_PACKAGES if old.packages.get(p) != env.packages.get(p)]
    if diffs:
        raise BenchError(
            f"Cannot resume run {previous.run_id} here: it was started on another machine or software stack "
            f"({'; '.join(diffs[:3])}). One results file holds one machine's numbers; start a new run instead."
        )


# --------------------------------------------------------------------------- preflight

# Import name -> (package to install, extra of bench-suite that brings it).
OPTIONAL_MODULES: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"), "torchvision": ("torchvision", "torch"),
    "transformers": ("transformers", "torch"), "onnxscript": ("onnxscript", "torch"),
    "onnx": ("onnx", "ort"), "onnxruntime": ("onnxruntime", "ort"),
    "codecarbon": ("codecarbon", "energy"), "pynvml": ("nvidia-ml-py", "energy"),
    "docker": ("docker", "fleet"), "jtop": ("jetson-stats", "jetson"),
}


def check_dependencies(config: BenchConfig) -> None:
    """Name the missing extra before anything runs, instead of failing every case."""
    # .onnx files run on ONNX Runtime alone (the slim container image has no torch).
    needed = {}
    if any(not m.name.lower().endswith(".onnx") for m in config.models):
        needed["torch"] = "measuring PyTorch models"
    if any(b.startswith("ort") for b in config.backends):
        needed.update({"onnxruntime": "the ONNX Runtime backends", "onnx": "the ONNX Runtime backends"})
    for module, purpose in needed.items():
        if not _importable(module):
            package, extra = OPTIONAL_MODULES[module]
            raise MissingDependencyError(package, extra, purpose)


def _plan(config: BenchConfig, threads: int) -> list[PlannedCase]:
    try:
        return plan_cases(config, threads)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in OPTIONAL_MODULES:
            raise
        package, extra = OPTIONAL_MODULES[top]
        raise MissingDependencyError(package, extra, "the models in this configuration") from None


# --------------------------------------------------------------------------- conditions


def _monitor(config: BenchConfig, emit: Progress) -> Any:
    """The machine watcher, or None when neither watching nor cool-down is wanted."""
    if not config.monitor.enabled and config.cooldown_temp_c is None:
        return None
    from suite.monitor import Monitor, MonitorOptions

    m = config.monitor
    try:
        monitor = Monitor(MonitorOptions(interval_s=m.interval_s, hot_temp_c=m.hot_temp_c,
                                         sysfs_root=m.sysfs_root, vcgencmd=m.vcgencmd))
    except Exception as exc:  # watching is a help, never a reason to stop the run
        emit("warning", {"message": f"machine conditions not watched: {type(exc).__name__}: {exc}"})
        return None
    if config.monitor.enabled:
        for message in monitor.startup_warnings():
            emit("warning", {"message": message})
    if config.cooldown_temp_c is not None and not monitor.has_temperature:
        emit("warning", {"message": f"cooldown_temp_c = {config.cooldown_temp_c:g} is set but no CPU temperature "
                                    f"sensor was found under {monitor.root / 'sys/class/thermal'}; cases run "
                                    "without cool-down"})
    return monitor


def _cool_down(config: BenchConfig, monitor: Any, emit: Progress) -> list[str]:
    if config.cooldown_temp_c is None or monitor is None or not monitor.has_temperature:
        return []
    from suite.monitor import wait_for_cooldown

    target = config.cooldown_temp_c
    res = wait_for_cooldown(
        monitor.temperature_c, target, config.cooldown_max_s,
        on_wait=lambda temp_c, waited_s: emit("cooldown", {"temp_c": temp_c, "target_c": target,
                                                           "waited_s": waited_s, "max_s": config.cooldown_max_s}),
    )
    if res is None:
        return []
    emit("cooldown_end", {"temp_c": res.end_c, "target_c": target, "waited_s": res.waited_s, "reached": res.reached})
    return [res.flag] if res.flag else []


def _execute_watched(planned: PlannedCase, ctx: CaseContext, monitor: Any, extra_flags: list[str]) -> CaseResult:
    if monitor is None:
        return with_conditions(execute(planned, ctx), None, extra_flags)
    with monitor.watch(planned.spec.device) as watch:
        result = execute(planned, ctx)
    return with_conditions(result, watch.conditions, extra_flags)


def with_conditions(result: CaseResult, conditions: Conditions | None, extra_flags: list[str] | None = None) -> CaseResult:
    """Attach what the machine was doing; its flags also go to the case's own flag list."""
    extra = list(extra_flags or [])
    if conditions is None and not extra:
        return result
    cond = conditions or Conditions()
    cond_flags = list(dict.fromkeys([*cond.flags, *extra]))
    cond = cond.model_copy(update={"flags": cond_flags})
    flags = list(dict.fromkeys([*result.flags, *cond_flags]))
    return result.model_copy(update={"conditions": cond, "flags": flags})


# --------------------------------------------------------------------------- signals and locks


class StopRequested(KeyboardInterrupt):
    """SIGINT, SIGTERM (what `docker stop` sends) or SIGHUP, turned into an exception so that a
    run saves what it has before it stops. A KeyboardInterrupt, so code that handles Ctrl-C
    handles all three; `exit_code` is the shell's 128 + signal number."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


STOP_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within the block, the stop signals raise StopRequested in the main thread. A signal the
    process was started with ignored (nohup, a background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: Any) -> None:
        raise StopRequested(signum)

    previous: dict[int, Any] = {}
    for name in STOP_SIGNALS:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        current = signal.getsignal(sig)
        if current == signal.SIG_IGN:
            continue
        previous[sig] = current
        signal.signal(sig, _raise)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


@contextlib.contextmanager
def results_lock(path: Path) -> Iterator[None]:
    """Hold an advisory lock on `path` while the run writes it. The kernel drops the lock
    when the process ends, however it ends, so a killed run never leaves a stale lock."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    lock_path = path.with_name(f".{path.name}.lock")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(lock_path, "a+")
    except OSError as exc:
        raise BenchError(f"Cannot write in {path.parent}: {exc.strerror or exc}. Choose another folder with -o.") from None
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BenchError(f"{path} is being written by another bench run that is still going. Wait for it to "
                             "finish, or stop it (Ctrl-C) and then resume it with: bench run --resume "
                             f"{path}") from None
        try:
            yield
        finally:
            # Unlink while still holding the lock: a later run then locks a fresh file.
            with contextlib.suppress(OSError):
                os.unlink(lock_path)
    finally:
        fh.close()


# --------------------------------------------------------------------------- worker limits


def _exit_with_parent() -> None:
    """Have the kernel SIGKILL this worker when its parent (the forkserver) dies: when the run
    is killed, the forkserver exits, and no orphaned case keeps the CPU busy for an hour.

    The forkserver exits once no process holds the write end of its "alive" pipe, and every
    worker inherits one (for forkservers of its own, which a case never needs): a hung
    worker would keep the forkserver, and so itself, alive. So the worker closes it."""
    if not sys.platform.startswith("linux"):
        return
    try:
        from multiprocessing import forkserver

        server = forkserver._forkserver  # CPython 3.10-3.13: one per process
        if server._forkserver_alive_fd is not None:
            os.close(server._forkserver_alive_fd)
            server._forkserver_alive_fd = None
    except (AttributeError, OSError):
        pass
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # best effort: an exotic libc only loses this safety net
        pass


def limit_memory(extra_mb: int) -> int | None:
    """Cap the memory this process may still allocate at `extra_mb` above what it holds now.

    RLIMIT_DATA (Linux >= 4.7) counts heap and private anonymous mappings, where tensors live,
    but not the shared libraries mapped in (torch maps ~3 GB of address space before a model
    exists, which an RLIMIT_AS cap would have to allow for). Past the cap an allocation fails:
    torch raises "can't allocate memory", Python MemoryError, and the case is recorded as
    'oom' instead of the machine swapping to a halt. Returns the limit set, in bytes."""
    try:
        import resource
    except ImportError:
        return None
    from suite.metrics.memory import status_bytes

    current = status_bytes("VmData")
    if current is None:
        return None
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = current + extra_mb * 2**20
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    return limit


def _explain_oom(result: CaseResult, config: BenchConfig) -> CaseResult:
    limit = config.worker_memory_limit_mb
    if limit is None or result.error is None or result.error.kind != "oom":
        return result
    error = result.error.model_copy(update={"message": (
        f"{result.error.message} (worker_memory_limit_mb = {limit}: the case may allocate at most "
        f"{limit} MB beyond the worker's starting footprint)")})
    return result.model_copy(update={"error": error})
