"""Measure one case: build, count, time, (energy), memory -> CaseResult.

Runs inside a worker process (see runner.py) or inline. Never prints; never renders.
Failures inside the case become a failed CaseResult with the error, never an exception.
"""

from __future__ import annotations

import copy
import functools
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING

from suite import energy
from suite.backends import backend_info, quiesce_hook
from suite.backends.eager import torch_backends_of
from suite.backends.ort.graph_params import onnx_param_stats
from suite.backends.parity import parity_message
from suite.backends.prepare import prepare_backend
from suite.backends.protocol import Prepared, PrepareRequest
from suite.config.bench_config import BenchConfig
from suite.data.loaders import load_dataset
from suite.errors import BenchError, CaseError
from suite.metrics.flops import count_flops
from suite.metrics.interleave import Timed, interleave
from suite.metrics.latency import latency_flags, time_forward
from suite.metrics.memory import PeakRSS, model_bytes
from suite.metrics.params import count_params
from suite.metrics.roofline import Traffic, count_traffic, roofline_for
from suite.metrics.settle import MAX_SETTLE_S, settle
from suite.metrics.settle import method as settle_method
from suite.models.entry import ModelEntry
from suite.models.inputs import call_model, make_inputs, meta_inputs
from suite.models.user_file import file_module
from suite.models.weights import check_weights_file, load_weights
from suite.plan.sweep import PlannedCase
from suite.profiling import profile_for_case
from suite.results.flags import flag, unique
from suite.results.schema import (
    CaseResult,
    CaseStatus,
    ErrorInfo,
    FlopStats,
    MemoryStats,
    ParamStats,
    RuntimeSettings,
    utc_now,
)
from suite.run.app_steps import paced_step, sustained_step
from suite.run.case_parts import CaseContext, CaseParts
from suite.run.evaluation import dataset_calibration, evaluate_dataset

if TYPE_CHECKING:
    import torch

    from suite.data.dataset import Dataset

    from suite.models.inputs import Inputs

FLOP_NOTE_REAL = "counted on the real model (meta-device counting failed)"


def run_case(planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    """One case on its own: prepare, time, then energy, profile, dataset pass."""
    case = CaseRun(planned, ctx)
    if case.attempt(case.prepare) and case.attempt(case.time_alone):
        case.attempt(case.finish)
    case.close()
    return case.result()


def run_group(planned: list[PlannedCase], ctx: CaseContext) -> list[CaseResult]:
    """The backends of one model x batch x size in one process: each prepared once and kept warm,
    timed in alternating rounds (suite.metrics.interleave), then each one's energy window, profile
    and dataset pass on its own. A backend that fails fails only its own case.

    At every switch from one backend to the next, that backend's runtime is quiesced and the
    worker settles (suite.metrics.settle). The group's worker holds every backend at once, so its
    peak memory is no backend's: each case's memory is measured alone (`memory_alone`, in a worker
    of its own, by suite.run.group) and none is taken from here."""
    if len(planned) == 1:
        return [run_case(planned[0], ctx)]
    cases = [CaseRun(p, ctx, memory=False) for p in planned]
    ready = [c for c in cases if c.attempt(c.prepare)]
    timed = [Timed(name=c.spec.backend, fn=c.forward, items_per_call=c.spec.batch_size, threads=c.spec.threads,
                   synchronized=c.backend.synchronized, context=c.backend.context, quiesce=c.quiesce) for c in ready]
    if timed:
        out = interleave(timed, ctx.config.timing)
        for c in ready:
            name = c.spec.backend
            c.phases["warmup"] = out.warmup_s.get(name, 0.0)
            c.phases["sampling"] = out.sampling_s  # the rounds, shared by the group
            c.note_between_blocks(settle_method(), out.unsettled.get(name, 0), out.rewarm.get(name, 0))
            if name in out.errors:
                exc = out.errors[name]
                c.attempt(functools.partial(_reraise, exc))
            else:
                c.parts.latency = out.results[name]
    for c in ready:
        if c.error is None:
            # the energy window, profile and dataset pass each start on a settled worker too
            for other in ready:
                other.quiesce()
            settle()
            c.attempt(c.finish)
    for c in cases:
        c.close()
    return [c.result() for c in cases]


MEMORY_CALLS = 6  # the cold call and a settle window's worth of warm ones: where a forward's peak is


def memory_alone(planned: PlannedCase, ctx: CaseContext) -> MemoryStats | ErrorInfo:
    """An interleaved case's peak memory as if its backend ran alone: in the calling process (a
    short worker of its own), the case's build, counts and prepare exactly as `run_case` does
    them, then MEMORY_CALLS forward calls. The error instead when a step fails."""
    case = CaseRun(planned, ctx)
    if case.attempt(case.prepare):
        case.attempt(case.call_for_memory)
    case.close()
    if case.error is not None and case.error.kind != "parity":
        return case.error
    memory = case.parts.memory
    if memory is None:
        return ErrorInfo(kind="exception", message="no memory figure was taken")
    return memory.model_copy(update={"scope": "alone", "calls": MEMORY_CALLS})


def _reraise(exc: BaseException) -> None:
    raise exc


class CaseRun:
    """One case's measurement in phases (prepare, time, finish), each timed into `phases`, its
    failure turned into the case's status and error instead of an exception."""

    def __init__(self, planned: PlannedCase, ctx: CaseContext, memory: bool = True):
        self.planned, self.ctx, self.spec = planned, ctx, planned.spec
        self.memory = memory  # False: the process holds other cases too (interleaved): its peak is not this one's
        self.started = utc_now()
        self.t0 = time.perf_counter()
        self.parts = CaseParts()
        self.phases: dict[str, float] = {}
        self.status: CaseStatus = "ok"
        self.error: ErrorInfo | None = None
        self.prepared: Prepared | None = None
        self.inputs: Inputs = {}
        self.entry: ModelEntry | None = None
        self.model: torch.nn.Module | None = None
        self.rss: PeakRSS | None = None
        self.traffic: Traffic | None = None  # bytes one forward moves (suite.metrics.roofline), for the roofline
        self.dataset: Dataset | None = None  # the run's dataset, loaded once: calibration and the pass share it

    @property
    def backend(self) -> Prepared:
        """The prepared backend (only asked for after a successful `prepare`)."""
        if self.prepared is None:
            raise RuntimeError(f"{self.spec.label}: the backend is not prepared")
        return self.prepared

    def case_dataset(self, entry: ModelEntry, config: BenchConfig) -> Dataset:
        """The run's dataset, loaded once per case: a backend that calibrates on it (before the timed
        loop) and the dataset pass (after the timed loop and the energy window) share it."""
        d = config.dataset
        if d is None:
            raise CaseError("accuracy", "the run has no dataset")
        if self.dataset is None:
            self.dataset = load_dataset(d.spec, limit=d.limit, seed=config.seed, split=d.split, columns=d.columns,
                                        user_module=file_module(entry))
        return self.dataset

    def attempt(self, step: Callable[[], None]) -> bool:
        try:
            step()
            return True
        except CaseError as exc:
            self.status, self.error = "failed", ErrorInfo(kind=exc.kind, message=str(exc),
                                                          traceback=traceback.format_exc())
        except BenchError as exc:
            self.status, self.error = "failed", ErrorInfo(kind="input", message=str(exc))
        except MemoryError as exc:
            self.status, self.error = "failed", ErrorInfo(kind="oom", message=f"out of memory: {exc}")
        except Exception as exc:  # a case must never crash the run
            msg = f"{type(exc).__name__}: {exc}"
            # CUDA says "out of memory"; torch's CPU allocator "can't allocate memory" (ENOMEM, e.g.
            # past worker_memory_limit_mb).
            low = str(exc).lower()
            kind = "oom" if "out of memory" in low or "allocate memory" in low else "exception"
            self.status, self.error = "failed", ErrorInfo(kind=kind, message=msg[:2000],
                                                          traceback=traceback.format_exc())
        return False

    def forward(self) -> object:
        return self.backend.run(self.inputs)

    def quiesce(self) -> None:
        """The backend's declared quiesce function (suite.backends.BackendInfo.quiesce), if any."""
        hook = quiesce_hook(self.spec.backend)
        if hook is not None and self.prepared is not None:
            hook(self.prepared)

    def note_between_blocks(self, settle_method: str, unsettled: int, rewarm: int = 0) -> None:
        """Record how the worker handed the cores over after this backend's blocks, and what its
        blocks began with."""
        hook = backend_info(self.spec.backend).quiesce
        how = (f"quiesced by {hook}, then " if hook else "") + settle_method
        if rewarm:
            how += f"; each of its blocks began with {rewarm} untimed call(s)"
        runtime = self.parts.runtime or RuntimeSettings(runtime=f"{self.spec.backend} (no settings reported)")
        self.parts.runtime = runtime.model_copy(update={"between_blocks": how})
        if unsettled:
            self.parts.flags.append(flag("unsettled", (
                f"after {unsettled} of its blocks a thread of the worker still ran {MAX_SETTLE_S * 1e3:g} ms later, "
                "when the next backend's block began")))

    def call_for_memory(self) -> None:
        with self.backend.context():
            for _ in range(MEMORY_CALLS):
                self.forward()

    def _phase(self, name: str, t0: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t0

    def prepare(self) -> None:
        config, spec, planned, parts = self.ctx.config, self.spec, self.planned, self.parts
        t = time.perf_counter()
        entry = planned.entry()
        if entry.builder is not None or spec.device != "cpu":
            import torch

            torch.manual_seed(config.seed)
            torch.set_num_threads(spec.threads)
        self.rss = PeakRSS().__enter__()
        model = entry.build(planned.choice.pretrained) if entry.builder is not None else None
        if model is not None and planned.choice.weights:
            load_weights(model, check_weights_file(planned.choice.weights, planned.choice.name))
        self.model = model
        self.inputs = inputs = make_inputs(entry.input_spec, spec.batch_size, spec.input_size, config.seed, spec.device)
        self._phase("build", t)
        t = time.perf_counter()
        if model is not None:
            parts.params, parts.flops = static_metrics(model, inputs, spec.batch_size)
            self.traffic = static_traffic(model, inputs) if parts.flops is not None else None
        elif entry.path:
            parts.params = onnx_param_stats(entry.path)
        self._phase("flops", t)
        t = time.perf_counter()
        info = backend_info(spec.backend)
        calibration = None
        if info.calibrates and config.dataset is not None:  # a quantiser calibrates on the run's dataset
            calibration = dataset_calibration(entry, self.case_dataset(entry, config), spec, spec.device)
        req = PrepareRequest(
            model=model, entry=entry, inputs=inputs, device=spec.device, threads=spec.threads,
            options=config.options_for(info.options_key), parity_tolerance=config.parity_tolerance,
            calibration=calibration,
        )
        self.prepared = prepared = prepare_backend(spec.backend, req)
        self._phase("prepare", t)  # export (or compile) and the parity check
        self.entry = entry
        parts.export = prepared.export
        parts.parity = prepared.parity
        parts.flags.extend(flag("backend_note", note) for note in prepared.flags)
        parts.torch_backends = torch_backends_of(prepared)
        parts.runtime = prepared.runtime_settings()

    def time_alone(self) -> None:
        config, spec, prepared = self.ctx.config, self.spec, self.backend
        with prepared.context():
            result = time_forward(self.forward, items_per_call=spec.batch_size, policy=config.timing,
                                  threads=spec.threads, synchronized=prepared.synchronized, phases=self.phases)
        self.parts.latency = result

    def finish(self) -> None:
        """Energy, profile and dataset pass, each in its own window after the timed figures."""
        config, prepared, parts = self.ctx.config, self.backend, self.parts
        if self.ctx.repeat > 0:  # energy, profile and dataset pass once per case: in its first process
            return
        with prepared.context():
            if config.energy.enabled:
                t = time.perf_counter()
                _measure_energy(prepared, self.inputs, self.spec.batch_size, self.ctx, parts, self.phases)
                self._phase("energy", t)
            if config.app.rate_hz is not None:  # after the energy window, before the profile
                t = time.perf_counter()
                parts.paced, more = paced_step(self.forward, self.ctx, parts.latency, config.app.rate_hz)
                parts.flags.extend(more)
                self._phase("paced", t)
            if config.app.sustain_s is not None:
                t = time.perf_counter()
                parts.sustained, more = sustained_step(self.forward, self.ctx, config.app.sustain_s)
                parts.flags.extend(more)
                self._phase("sustained", t)
            if config.profile.enabled:  # its own window, after every timed figure

                t = time.perf_counter()
                parts.profile, more = profile_for_case(prepared, self.inputs, config.profile, parts.flops)
                parts.flags.extend(more)
                self._phase("profile", t)
            if self.planned.evaluates and config.dataset is not None and self.entry is not None:
                t = time.perf_counter()
                try:
                    dataset = self.case_dataset(self.entry, config)  # after every timed figure
                    parts.accuracy = evaluate_dataset(prepared, self.entry, dataset, self.planned.spec,
                                                      device=self.planned.spec.device, warnings=parts.flags)
                except Exception as exc:  # one rule: the timings stand, the accuracy fails, saying why
                    parts.flags.append(flag("accuracy_failed", accuracy_failure(exc)))
                self._phase("dataset", t)
        if self.ctx.repeats == 1 and parts.latency is not None:  # with repeats, from the pooled samples
            parts.flags.extend(latency_flags(parts.latency, config.timing))  # (suite.run.repeats)

    def close(self) -> None:
        if self.prepared is not None:
            self.prepared.close()
            self.prepared = None
        if self.rss is None:
            return
        rss, self.rss = self.rss, None
        rss.__exit__(None, None, None)
        if not self.memory or (self.error is not None and self.error.kind != "parity"):
            return
        device_peak = None
        if self.spec.device.startswith("cuda"):
            import torch  # imported by prepare for every case off the CPU

            device_peak = int(torch.cuda.max_memory_allocated())
        self.parts.memory = MemoryStats(
            rss_before_bytes=rss.before, rss_peak_bytes=rss.peak, rss_peak_delta_bytes=rss.peak - rss.before,
            model_bytes=model_bytes(self.model) if self.model is not None else None, device_peak_bytes=device_peak,
            method=rss.method, scope="case",
        )

    def result(self) -> CaseResult:
        p = self.parts
        if self.error is None and p.parity is not None and not p.parity.passed:
            self.status = "parity_failed"
            self.error = ErrorInfo(kind="parity", message=parity_message(self.spec.backend, p.parity))
        roofline = None
        if p.flops is not None and p.flops.flops > 0 and p.latency is not None:
            roofline = roofline_for(p.flops.flops, self.traffic, p.latency.summary.median_ms,
                                    self.ctx.peaks_for(self.spec.device, self.spec.threads), self.spec.backend)
        return CaseResult(spec=self.spec, id=self.spec.case_id, status=self.status, error=self.error,
                          started_at=self.started, duration_s=time.perf_counter() - self.t0,
                          phases_s={k: round(v, 6) for k, v in self.phases.items()}, flags=unique(p.flags),
                          params=p.params, flops=p.flops, export=p.export, parity=p.parity,
                          torch_backends=p.torch_backends, runtime=p.runtime, latency=p.latency, energy=p.energy,
                          carbon=p.carbon, energy_error=p.energy_error, profile=p.profile, accuracy=p.accuracy,
                          memory=p.memory, roofline=roofline, paced=p.paced,
                          sustained=p.sustained)


def accuracy_failure(exc: BaseException) -> str:
    """Why a dataset pass failed, in one sentence: the suite's own errors as they are worded,
    anything else (a pydantic or numpy error from a strange output) with its type."""
    if isinstance(exc, (CaseError, BenchError)):
        return str(exc)
    return f"the dataset pass failed: {type(exc).__name__}: {' '.join(str(exc).split())[:500]}"


def _measure_energy(prepared: Prepared, inputs: Inputs, items: int, ctx: CaseContext, parts: CaseParts,
                    phases: dict[str, float] | None = None) -> None:
    """Energy in its own window; a meter failure marks only the energy as failed."""
    opts = ctx.config.energy
    meter = None
    try:
        t = time.perf_counter()
        meter = energy.select_meter(opts)  # the runner's probe, handed over (MeterProbe): no re-probing
        if phases is not None:
            phases["meter_probe"] = time.perf_counter() - t
        def call() -> None:
            prepared.run(inputs)

        res, flags = energy.measure_energy(call, items, meter, opts, ctx.idle_baseline)
        parts.energy = res
        parts.carbon = energy.carbon_for(res, opts)
        parts.flags.extend(flags)
    except Exception as exc:  # MeterError and anything else: latency stands
        parts.energy_error = ErrorInfo(kind="energy", message=f"{type(exc).__name__}: {exc}")
        parts.flags.append(flag("energy_failed", f"energy not measured: {type(exc).__name__}: {exc}"))
    finally:
        if meter is not None:
            meter.close()  # NVML shutdown, jtop disconnect


def meta_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A copy of `model` on the meta device, made without copying a single weight: every parameter
    and buffer is swapped for a meta tensor during the copy (tied ones stay tied). A plain
    deepcopy would hold a second full set of weights and show up in the case's peak memory."""
    import torch

    memo: dict[int, torch.Tensor] = {}
    for p in model.parameters():
        memo[id(p)] = torch.nn.Parameter(p.detach().to("meta"), requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = b.detach().to("meta")
    return copy.deepcopy(model, memo).to("meta")


def static_traffic(model: torch.nn.Module, inputs: Inputs) -> Traffic | None:
    """Bytes one forward moves (suite.metrics.roofline's traffic model), counted on a meta-device
    copy, else (an operator without a meta kernel, as for FLOPs) on the real model; None when
    neither forward runs."""
    try:
        meta_model = meta_copy(model)
        m_inputs = meta_inputs(inputs)
        return count_traffic(meta_model, lambda: call_model(meta_model, m_inputs))
    except Exception:
        pass
    try:
        return count_traffic(model, lambda: call_model(model, inputs))
    except Exception:
        return None


def static_metrics(model: torch.nn.Module, inputs: Inputs, batch: int) -> tuple[ParamStats | None, FlopStats | None]:
    """Parameters and FLOPs on a meta-device copy (milliseconds, no real compute); fall back
    to the real model when an op has no meta kernel."""
    try:
        meta_model = meta_copy(model)
        m_inputs = meta_inputs(inputs)
        params = count_params(meta_model, lambda: call_model(meta_model, m_inputs), strict=True)
        flops = count_flops(meta_model, lambda: call_model(meta_model, m_inputs), items=batch)
        return params, flops
    except Exception:
        pass
    params = count_params(model, lambda: call_model(model, inputs))  # warns, never raises, on a failed forward
    try:
        counted = count_flops(model, lambda: call_model(model, inputs), items=batch)
    except Exception:
        return params, None  # parameters stand even when FLOPs cannot be counted
    return params, counted.model_copy(update={"note": FLOP_NOTE_REAL})
