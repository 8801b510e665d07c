"""--profile on real models: resnet18's per-operator times add up to its latency on eager and on ORT,
ORT's table shows the operators it fused where eager runs conv, batch norm and relu apart, and the
profile window leaves the timed samples exactly as they are."""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest

from suite.config.bench_config import validate_config
from suite.plan.sweep import plan_cases
from suite.run.case import run_case
from suite.run.case_parts import CaseContext

TINY = str(Path(__file__).resolve().parents[1] / "fixtures" / "models" / "tiny_user_model.py")
TIMING = {"warmup_min": 3, "warmup_max": 10, "min_iters": 15, "min_time_s": 1.0, "max_time_s": 4.0}
TOLERANCE = 0.15


def _run(tmp_path: Path, models, backends, threads=2, profile=True, ort=None, timing=TIMING, calls=10):
    cfg = validate_config({
        "models": models, "backends": backends, "batch_sizes": [1], "isolation": "inline", "threads": threads,
        "energy": {"enabled": False}, "timing": timing, "output_dir": str(tmp_path / "out"),
        "ort": {"cache_dir": str(tmp_path / "cache"), "exporter": "torchscript", **(ort or {})},
        "profile": {"enabled": profile, "calls": calls},
    })
    return {p.spec.backend: run_case(p, CaseContext(config=cfg)) for p in plan_cases(cfg, threads=threads)}


def _off_by(case) -> tuple[float, float]:
    """How far the summed operator time is from the profiled calls' own wall time (the mean over
    the calls, as the table's times are) and, call by call, the median of each call's summed
    operator time from the case's median latency, as fractions."""
    p = case.profile
    med = case.latency.summary.median_ms
    return abs(p.op_time_ms - p.wall_ms) / p.wall_ms, abs(float(np.median(p.call_op_ms)) - med) / med


@pytest.fixture(scope="module")
def resnet18(tmp_path_factory):
    """eager and ORT on resnet18, profiled. The machine is shared and its speed moves between
    seconds (NOTES.md: medians drift 4-12%, bursts much more): a run whose timed loop and profile
    window landed in different weather is measured again, up to three times in all. Every try's
    figures are kept for the failure message."""
    tries = []
    for attempt in range(3):
        cases = _run(tmp_path_factory.mktemp(f"r18-{attempt}"), ["resnet18"], ["eager", "ort"])
        tries.append({b: _off_by(c) for b, c in cases.items() if c.profile is not None})
        if all(c.profile is not None for c in cases.values()) and \
                all(max(off) <= TOLERANCE for off in tries[-1].values()):
            break
    return cases, tries


@pytest.mark.parametrize("backend", ["eager", "ort"])
def test_operator_times_add_up_to_the_latency_of_resnet18(resnet18, backend):
    cases, tries = resnet18
    case = cases[backend]
    assert case.status == "ok" and case.profile is not None, case.flags
    p = case.profile
    assert p.profiler == ("torch.profiler" if backend == "eager" else "onnxruntime") and p.calls == 10
    to_wall, to_median = _off_by(case)
    assert to_wall <= TOLERANCE, f"{backend}: ops {p.op_time_ms:.2f} ms vs profiled wall {p.wall_ms:.2f} ms; tries {tries}"
    assert to_median <= TOLERANCE, (f"{backend}: ops {p.op_time_ms:.2f} ms vs median "
                                    f"{case.latency.summary.median_ms:.2f} ms; tries {tries}")
    assert sum(o.time_ms for o in p.ops) == pytest.approx(p.op_time_ms)
    assert p.window_s > 0 and p.window_s >= p.calls * p.wall_ms / 1e3 * 0.5


def _family_calls(case) -> dict[str, float]:
    out: dict[str, float] = {}
    for o in case.profile.ops:
        out[o.family] = out.get(o.family, 0) + o.calls
    return out


def test_ort_fuses_what_eager_runs_apart(resnet18):
    cases, _ = resnet18
    eager, ort = _family_calls(cases["eager"]), _family_calls(cases["ort"])
    eager_ops = {o.op: o for o in cases["eager"].profile.ops}
    # resnet18 by hand: 20 convolutions each followed by a batch norm, 17 ReLUs, 8 residual adds.
    assert eager_ops["aten::conv2d"].calls == 20 and eager_ops["aten::batch_norm"].calls == 20
    assert eager_ops["aten::relu_"].calls == 17 and eager_ops["aten::add_"].calls == 8
    # ORT (optimisation level "all"): the same 20 convolutions, the norms, activations and adds
    # folded into them.
    assert ort["conv"] == 20 and "norm" not in ort and "activation" not in ort and "elementwise" not in ort
    assert eager["norm"] == 20 and eager["activation"] == 17
    # The same convolutions: ORT's FLOPs from node shapes equal the FLOP counter's on eager.
    counted = cases["eager"].flops.by_operator["aten.convolution"]
    assert sum(o.flops or 0 for o in cases["ort"].profile.ops if o.family == "conv") == counted
    assert eager_ops["aten::conv2d"].flops == counted


def test_extended_optimisation_shows_fused_conv(tmp_path):
    cases = _run(tmp_path, ["resnet18"], ["ort"], ort={"optimization_level": "extended"},
                 timing={"warmup_min": 1, "warmup_max": 2, "min_iters": 3, "min_time_s": 0, "max_time_s": 0.5}, calls=2)
    ops = {o.op: o for o in cases["ort"].profile.ops}
    assert "FusedConv" in ops and ops["FusedConv"].family == "conv"
    assert "BatchNormalization" not in ops  # folded into the convolutions at every level above "disable"
    assert sum(o.calls for o in ops.values() if o.family == "conv") == 20


class SeededClock:
    """perf_counter_ns stand-in: each read advances by a seeded pseudo-random 0.5-1.5 ms."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        self.t = 0
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        self.t += int(self.rng.integers(500_000, 1_500_000))
        return self.t


def test_the_profile_window_leaves_the_latency_samples_identical(tmp_path, monkeypatch):
    import suite.profiling as profiling
    import suite.run.case as latency  # the case's own name for time_forward (imported at module level)

    real_time_forward, real_profile = latency.time_forward, profiling.profile_case
    seen = {}

    def run(profile: bool) -> dict:
        clock = SeededClock(1234)
        monkeypatch.setattr(latency, "time_forward", functools.partial(real_time_forward, clock=clock))

        def profile_case(*args, **kwargs):
            seen.setdefault("reads_at_profile", []).append(clock.reads)
            return real_profile(*args, **kwargs)

        monkeypatch.setattr(profiling, "profile_case", profile_case)
        timing = {"warmup_min": 2, "warmup_max": 6, "min_iters": 10, "min_time_s": 0.01, "max_time_s": 0.05}
        cases = _run(tmp_path / str(profile), [TINY], ["eager", "ort"], threads=1, profile=profile, timing=timing,
                     calls=3)
        seen.setdefault("reads_at_end", []).append(clock.reads)
        return cases

    plain, profiled = run(False), run(True)
    for backend in ("eager", "ort"):
        assert plain[backend].profile is None and profiled[backend].profile is not None
        assert profiled[backend].latency.samples_ms == plain[backend].latency.samples_ms
        assert profiled[backend].latency.warmup_ms == plain[backend].latency.warmup_ms
        assert len(plain[backend].latency.samples_ms) >= 10
    # Profiling began only after both cases' timed loops had read the clock for the last time
    # (each case has its own clock stream here: the second case's reads continue the first's).
    assert seen["reads_at_profile"] and seen["reads_at_profile"][-1] == seen["reads_at_end"][-1]
    assert seen["reads_at_profile"][0] < seen["reads_at_profile"][-1]


def test_torch_compile_and_int8_are_profiled_too(tmp_path):
    """torch.compile through torch.profiler (inductor's own code as "(generated code)"), int8 through
    ORT's profiler; the tiny model's one convolution shows on both."""
    cases = _run(tmp_path, [TINY], ["torch-compile", "ort-int8"], threads=1, calls=3,
                 timing={"warmup_min": 1, "warmup_max": 3, "min_iters": 5, "min_time_s": 0, "max_time_s": 0.3})
    compiled, int8 = cases["torch-compile"].profile, cases["ort-int8"].profile
    assert compiled.profiler == "torch.profiler" and int8.profiler == "onnxruntime"
    assert sum(o.calls for o in compiled.ops if o.family == "conv") == 1
    assert {o.op for o in int8.ops if o.family == "conv"} == {"ConvInteger"}
    # the compiled convolution is still the counted one: 2 x 8 x 32 x 32 x 27 at batch 1
    assert sum(o.flops or 0 for o in compiled.ops if o.family == "conv") == 2 * 8 * 32 * 32 * 27
    for p in (compiled, int8):
        assert p.op_time_ms <= p.wall_ms * 1.05 and p.calls == 3
