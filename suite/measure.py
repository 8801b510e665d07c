"""Measure one case: build, count, time, (energy), memory -> CaseResult.

Runs inside a worker process (see runner.py) or inline. Never prints; never renders.
Failures inside the case become a failed CaseResult with the error, never an exception.
"""

from __future__ import annotations

import copy
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from suite.config import BenchConfig
from suite.errors import BenchError, CaseError
from suite.plan import PlannedCase
from suite.results.flags import flag, unique
from suite.results.schema import CaseResult, ErrorInfo, FlopStats, MemoryStats, ParamStats, utc_now

FLOP_NOTE_REAL = "counted on the real model (meta-device counting failed)"


@dataclass
class CaseContext:
    """What the runner hands a worker besides the case: config and shared measurements."""

    config: BenchConfig
    idle_baseline: Any = None  # suite.energy.IdleBaseline, measured by the runner
    peaks: list[Any] = field(default_factory=list)  # DevicePeaks measured once per run (the roofs)

    def peaks_for(self, device: str) -> Any:
        return next((p for p in self.peaks if p.device == device), None)


def run_case(planned: PlannedCase, ctx: CaseContext) -> CaseResult:
    spec = planned.spec
    started = utc_now()
    t0 = time.perf_counter()
    result: dict[str, Any] = {"flags": []}
    try:
        _measure(planned, ctx, result)
        status = "parity_failed" if result.get("parity") is not None and not result["parity"].passed else "ok"
        error = None
        if status == "parity_failed":
            p = result["parity"]
            error = ErrorInfo(kind="parity", message=(
                f"{spec.backend} output differs from {p.reference_backend}: max relative error {p.max_rel_error:.3g} > "
                f"tolerance {p.tolerance:.3g}; {spec.backend} numbers for this case are not trustworthy"))
    except CaseError as exc:
        status, error = "failed", ErrorInfo(kind=exc.kind, message=str(exc), traceback=traceback.format_exc())
    except BenchError as exc:
        status, error = "failed", ErrorInfo(kind="input", message=str(exc))
    except MemoryError as exc:
        status, error = "failed", ErrorInfo(kind="oom", message=f"out of memory: {exc}")
    except Exception as exc:  # a case must never crash the run
        msg = f"{type(exc).__name__}: {exc}"
        # CUDA says "out of memory"; torch's CPU allocator "can't allocate memory" (ENOMEM, e.g.
        # past worker_memory_limit_mb).
        low = str(exc).lower()
        kind = "oom" if "out of memory" in low or "allocate memory" in low else "exception"
        status, error = "failed", ErrorInfo(kind=kind, message=msg[:2000], traceback=traceback.format_exc())
    result["flags"] = unique(result["flags"])
    return CaseResult(
        spec=spec, id=spec.case_id, status=status, error=error, started_at=started,
        duration_s=time.perf_counter() - t0, **result,
    )


def _measure(planned: PlannedCase, ctx: CaseContext, result: dict[str, Any]) -> None:
    from suite.backends import backend_info, prepare_backend
    from suite.backends.base import PrepareRequest
    from suite.backends.eager import torch_backends_of
    from suite.inputs import make_inputs
    from suite.metrics.latency import latency_flags, time_forward
    from suite.metrics.memory import PeakRSS, model_bytes

    config, spec = ctx.config, planned.spec
    entry = planned.entry()
    torch = None
    if entry.builder is not None or spec.device != "cpu":
        import torch

        torch.manual_seed(config.seed)
        torch.set_num_threads(spec.threads)
    traffic = None
    with PeakRSS() as rss:
        model = entry.build(planned.choice.pretrained) if entry.builder is not None else None
        if model is not None and planned.choice.weights:
            from suite.models.weights import check_weights_file, load_weights

            load_weights(model, check_weights_file(planned.choice.weights, planned.choice.name))
        inputs = make_inputs(entry.input_spec, spec.batch_size, spec.input_size, config.seed, spec.device)
        if model is not None:
            result["params"], result["flops"] = static_metrics(model, inputs, spec.batch_size)
            traffic = static_traffic(model, inputs) if result["flops"] is not None else None
        elif entry.path:
            from suite.backends.onnx_params import onnx_param_stats

            result["params"] = onnx_param_stats(entry.path)
        req = PrepareRequest(
            model=model, entry=entry, inputs=inputs, device=spec.device, threads=spec.threads,
            options=config.options_for(backend_info(spec.backend).options_key),
            parity_tolerance=config.parity_tolerance,
        )
        prepared = prepare_backend(spec.backend, req)
        try:
            result["export"] = prepared.export
            result["parity"] = prepared.parity
            result["flags"].extend(flag("backend_note", note) for note in prepared.flags)
            result["torch_backends"] = torch_backends_of(prepared)
            with prepared.context():
                result["latency"] = time_forward(
                    lambda: prepared.run(inputs), items_per_call=spec.batch_size, policy=config.timing,
                    threads=spec.threads, synchronized=prepared.synchronized,
                )
                if config.energy.enabled:
                    _measure_energy(prepared, inputs, spec.batch_size, ctx, result)
                if config.profile.enabled:  # its own window, after every timed figure
                    from suite.profiling import profile_for_case

                    result["profile"], more = profile_for_case(prepared, inputs, config.profile, result.get("flops"))
                    result["flags"].extend(more)
                if planned.evaluates and config.dataset is not None:
                    try:
                        result["accuracy"] = _evaluate(prepared, entry, planned, config)
                    except (CaseError, BenchError) as exc:  # the timings stand; say why there is no accuracy
                        result["flags"].append(flag("accuracy_failed", str(exc)))
        finally:
            prepared.close()
    result["flags"].extend(latency_flags(result["latency"], config.timing))
    if result.get("flops") is not None and result["flops"].flops > 0:
        from suite.metrics.roofline import roofline_for

        result["roofline"] = roofline_for(result["flops"].flops, traffic, result["latency"].summary.median_ms,
                                          ctx.peaks_for(spec.device), spec.backend)
    device_peak = None
    if torch is not None and spec.device.startswith("cuda"):
        device_peak = int(torch.cuda.max_memory_allocated())
    result["memory"] = MemoryStats(
        rss_before_bytes=rss.before, rss_peak_bytes=rss.peak, rss_peak_delta_bytes=rss.peak - rss.before,
        model_bytes=model_bytes(model) if model is not None else None, device_peak_bytes=device_peak,
        method=rss.method,
    )


def _evaluate(prepared: Any, entry: Any, planned: PlannedCase, config: BenchConfig) -> Any:
    """The dataset pass, after the timed loop and the energy window (it never perturbs them)."""
    from suite.data import load_dataset
    from suite.evaluate import evaluate_dataset

    d = config.dataset
    from suite.models.user_file import file_module

    dataset = load_dataset(d.spec, limit=d.limit, seed=config.seed, split=d.split, columns=d.columns,
                           user_module=file_module(entry))
    return evaluate_dataset(prepared, entry, dataset, planned.spec, device=planned.spec.device)


def _measure_energy(prepared: Any, inputs: dict[str, Any], items: int, ctx: CaseContext, result: dict[str, Any]) -> None:
    """Energy in its own window; a meter failure marks only the energy as failed."""
    try:
        from suite import energy
    except ImportError:  # energy package not available in this build
        return
    opts = ctx.config.energy
    meter = None
    try:
        meter = energy.select_meter(opts)
        res, flags = energy.measure_energy(lambda: prepared.run(inputs), items, meter, opts, ctx.idle_baseline)
        result["energy"] = res
        result["carbon"] = energy.carbon_for(res, opts)
        result["flags"].extend(flags)
    except Exception as exc:  # MeterError and anything else: latency stands
        result["energy_error"] = ErrorInfo(kind="energy", message=f"{type(exc).__name__}: {exc}")
        result["flags"].append(flag("energy_failed", f"energy not measured: {type(exc).__name__}: {exc}"))
    finally:
        if meter is not None:
            meter.close()  # NVML shutdown, jtop disconnect


def meta_copy(model: Any) -> Any:
    """A copy of `model` on the meta device, made without copying a single weight: every parameter
    and buffer is swapped for a meta tensor during the copy (tied ones stay tied). A plain
    deepcopy would hold a second full set of weights and show up in the case's peak memory."""
    import torch

    memo: dict[int, Any] = {}
    for p in model.parameters():
        memo[id(p)] = torch.nn.Parameter(p.detach().to("meta"), requires_grad=p.requires_grad)
    for b in model.buffers():
        memo[id(b)] = b.detach().to("meta")
    return copy.deepcopy(model, memo).to("meta")


def static_traffic(model: Any, inputs: dict[str, Any]) -> Any:
    """Bytes one forward moves (suite.metrics.roofline's traffic model), counted on a meta-device
    copy, else (an operator without a meta kernel, as for FLOPs) on the real model; None when
    neither forward runs."""
    from suite.inputs import call_model, meta_inputs
    from suite.metrics.roofline import count_traffic

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


def static_metrics(model: Any, inputs: dict[str, Any], batch: int) -> tuple[ParamStats | None, FlopStats | None]:
    """Parameters and FLOPs on a meta-device copy (milliseconds, no real compute); fall back
    to the real model when an op has no meta kernel."""
    from suite.inputs import call_model, meta_inputs
    from suite.metrics.flops import count_flops
    from suite.metrics.params import count_params

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
        flops = count_flops(model, lambda: call_model(model, inputs), items=batch)
        flops = flops.model_copy(update={"note": FLOP_NOTE_REAL})
    except Exception:
        flops = None  # parameters stand even when FLOPs cannot be counted
    return params, flops
