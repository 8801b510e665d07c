"""What a case observed, one record per figure: errors, parameters, FLOPs, latency (samples and
their summary), memory, runtime settings, energy, carbon, parity, accuracy, roofline, profile,
conditions, export. Units are in the field names (`_ms`, `_j`, `_w`, `_bytes`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from suite.results.fields import (
    REFERENCE_BACKEND,
    Count,
    EnergyMethod,
    Ms,
    NonNegative,
    Rate,
    _Model,
)

# ----------------------------------------------------------------------------- observations


class ErrorInfo(_Model):
    kind: str  # exception | export | parity | timeout | crash | oom | unsupported | energy
    message: str
    traceback: str | None = None


class TiedGroup(_Model):
    names: list[str]
    numel: int


class ParamStats(_Model):
    unique: int
    effective: int | None = None  # each module call counted (shared layers counted per call)
    uncalled: int | None = None  # unique parameters in modules never called by the forward
    trainable: int
    frozen: int
    buffers: int
    param_bytes: int
    buffer_bytes: int
    bytes_by_dtype: dict[str, int] = Field(default_factory=dict)
    tied: list[TiedGroup] = Field(default_factory=list)


class ModuleFlops(_Model):
    module: str
    flops: int


class FlopStats(_Model):
    """Counted with torch.utils.flop_counter for one forward at the case's batch and size."""

    macs: int
    flops: int  # = 2 x MACs
    flops_per_item: int
    counter: str = "torch.utils.flop_counter"
    by_operator: dict[str, int] = Field(default_factory=dict)
    top_modules: list[ModuleFlops] = Field(default_factory=list)
    note: str | None = None


class LatencySummary(_Model):
    n: Count
    mean_ms: Ms
    std_ms: Ms
    median_ms: Ms
    median_ci_low_ms: Ms
    median_ci_high_ms: Ms
    ci_level: float
    iqr_ms: Ms
    p90_ms: Ms
    p99_ms: Ms
    min_ms: Ms
    max_ms: Ms
    cv: NonNegative
    throughput_items_s: NonNegative
    # Order-statistic CIs of the tail (None: too few samples beyond the percentile to bound it),
    # the samples a p99 claim needs (MLPerf LoadGen's early-stopping bound) and Tukey outliers.
    p90_ci_low_ms: Ms | None = None
    p90_ci_high_ms: Ms | None = None
    p99_ci_low_ms: Ms | None = None
    p99_ci_high_ms: Ms | None = None
    p99_min_samples: Count | None = None
    outliers_mild: Count | None = None
    outliers_severe: Count | None = None
    # How the median's CI was computed: "order statistics, one process" or, with --repeats K > 1,
    # "hierarchical bootstrap: K processes x samples" (then the CI above is the combined one).
    ci_method: str | None = None


SUMMARY_REL_TOLERANCE = 1e-9  # float rounding between numpy's and Python's arithmetic


def summary_disagreement(samples_ms: list[float], summary: LatencySummary) -> str | None:
    """What a latency summary says that its samples do not (None when they agree): the count,
    the extremes and the median are recomputed (cheap and exact); the mean, the percentiles and
    the median's CI must lie where the samples allow."""
    import math
    import statistics

    if not samples_ms:
        return None
    n = len(samples_ms)

    def close(a: float, b: float) -> bool:
        return math.isclose(a, b, rel_tol=SUMMARY_REL_TOLERANCE, abs_tol=1e-12)

    lo, hi = min(samples_ms), max(samples_ms)
    median = statistics.median(samples_ms)
    what = f"its {n} samples"
    if summary.n != n:
        return f"latency.summary.n is {summary.n}, but the case stores {n} samples"
    for name, stored, true in (("min_ms", summary.min_ms, lo), ("max_ms", summary.max_ms, hi),
                               ("median_ms", summary.median_ms, median)):
        if not close(stored, true):
            return (f"latency.summary.{name} ({stored:.6g} ms) is not the {name[:-3]} of {what} ({true:.6g} ms): "
                    "the summary is derived from the samples, so one of them was changed after the run")
    for name in ("mean_ms", "p90_ms", "p99_ms"):
        v = getattr(summary, name)
        if not (lo <= v <= hi or close(v, lo) or close(v, hi)):
            return (f"latency.summary.{name} ({v:.6g} ms) lies outside {what} ({lo:.6g} to {hi:.6g} ms): the "
                    "summary is derived from the samples, so one of them was changed after the run")
    if not (summary.median_ci_low_ms <= summary.median_ms * (1 + SUMMARY_REL_TOLERANCE)
            and summary.median_ms <= summary.median_ci_high_ms * (1 + SUMMARY_REL_TOLERANCE)):
        return (f"latency.summary's median CI [{summary.median_ci_low_ms:.6g}, {summary.median_ci_high_ms:.6g}] ms "
                f"does not hold its median ({summary.median_ms:.6g} ms)")
    return None


class LatencyResult(_Model):
    cold_ms: Ms  # the very first call, timed on its own
    warmup_ms: list[Ms]  # warm-up samples (discarded from the summary)
    samples_ms: list[Ms]  # timed samples, in order
    warmup_settled: bool
    stop_reason: str  # ci_target | time_cap | max_iters
    threads: int = Field(ge=1)
    timer: str = "time.perf_counter_ns"
    synchronized: bool = False  # True when a device sync closes each sample
    summary: LatencySummary
    process_medians_ms: list[Ms] | None = None  # one median per worker process (--repeats K > 1)
    repeats: int = Field(default=1, ge=1)  # worker processes whose samples samples_ms pools
    process_sizes: list[Count] | None = None  # samples per process, in samples_ms order (repeats > 1)
    # Interleaved with other backends (one worker, alternating rounds): samples per round, in
    # samples_ms order, over all processes; the comparison's paired CI is recomputed from these.
    round_sizes: list[Count] | None = None
    interleaved_with: list[str] | None = None  # the other backends of the rounds
    # Interleaved: per round (round_sizes order), ms the worker waited after this backend's block
    # until no other thread ran, before another backend's block (0: its own block came next).
    settle_ms: list[Ms] | None = None

    @model_validator(mode="after")
    def _summary_is_of_the_samples(self) -> LatencyResult:
        # The samples are the source of truth and the summary is derived from them (suite.stats):
        # a file whose summary says otherwise (a 1e308 median beside normal samples) was changed
        # after the run, and which of the two is right cannot be told. Refused, not recomputed:
        # recomputing would publish a figure no run produced, and the file itself is kept as is.
        problem = summary_disagreement(self.samples_ms, self.summary)
        if problem is not None:
            raise ValueError(problem)
        return self


class MemoryStats(_Model):
    rss_before_bytes: int | None = None  # process before the model was built
    rss_peak_bytes: int | None = None  # peak resident set during the case
    rss_peak_delta_bytes: int | None = None  # peak minus before
    model_bytes: int | None = None  # parameters + buffers in memory
    device_peak_bytes: int | None = None  # torch.cuda.max_memory_allocated on a GPU
    method: str = "psutil sampling"
    # Whose process the peak is: "case" (the case's own worker), "alone" (an interleaved case's
    # backend prepared and called in a short worker of its own, as if it ran alone). None in files
    # from before issue 19: an interleaved case's figure was then its group's worker, every backend's.
    scope: Literal["case", "alone"] | None = None
    calls: Count | None = None  # forward calls inside the window (scope "alone")


class RuntimeSettings(_Model):
    """What a backend's runtime ran under: each setting the suite made, and the runtime defaults
    the figures depend on (marked "default"), so that a deployment can reproduce it."""

    runtime: str  # "torch 2.14.1", "onnxruntime 1.32.0"
    settings: dict[str, str] = Field(default_factory=dict)  # ORT session options and config entries, OpenMP/torch threads
    between_blocks: str | None = None  # interleaved: what was done at each switch to another backend


class EnergyResult(_Model):
    """How much energy one inference takes, and exactly how that was obtained."""

    meter: str  # rapl | nvml | jetson | rpi5-pmic | estimate
    method: EnergyMethod
    sample_rate_hz: float | None = None
    window_s: NonNegative
    inferences: Count
    items: Count
    gross_j: NonNegative
    idle_power_w: float | None = None
    mean_power_w: NonNegative
    gross_j_per_inference: NonNegative
    net_j_per_inference: float | None = None
    gross_j_per_item: NonNegative
    net_j_per_item: float | None = None
    rails_w: dict[str, float] = Field(default_factory=dict)
    assumptions: list[str] = Field(default_factory=list)


class CarbonResult(_Model):
    intensity_g_per_kwh: float
    region: str
    source: str
    g_per_inference: float
    g_per_million: float
    equivalents: dict[str, float] = Field(default_factory=dict)


class ParityResult(_Model):
    reference_backend: str = REFERENCE_BACKEND
    max_abs_error: float
    max_rel_error: float  # max |a-b| / max |reference|
    tolerance: float
    passed: bool
    outputs_compared: int = 1
    non_finite: int = 0  # NaN / infinite values in either side's outputs (any one fails the check)


class AccuracyResult(_Model):
    """The task metric on real data (`bench run --dataset`): one dataset pass per model x backend
    x input size x resize method; cases of other batch sizes link to it (`evaluated_in`)."""

    metric: str  # top-1 | dice | the model file's evaluate() name (v1 files: free text)
    value: float  # top-1 / top-5 / dice / iou as a fraction in [0, 1]
    dataset: str  # the spec as given: digits, imagefolder:DIR, ...
    split: str | None = None
    samples: int | None = None
    higher_is_better: bool = True
    ci_low: float | None = None
    ci_high: float | None = None
    ci_level: float | None = None
    ci_method: str | None = None  # Wilson (proportions) | bootstrap (means of per-sample scores)
    correct: int | None = None  # right answers, for proportions
    others: dict[str, float] = Field(default_factory=dict)  # top-5 beside top-1, iou beside dice
    dataset_hash: str | None = None  # sha256 of the file list (or bytes) and the subset taken
    dataset_total: int | None = None  # samples before --limit
    dataset_notes: list[str] = Field(default_factory=list)
    resize: str | None = None  # the resize method (suite/data/preprocess.py)
    preprocessing: str | None = None  # the whole contract, in words
    predictions: list[int] | None = None  # top-1 class per sample, in dataset order (paired tests)
    right: str | None = Field(default=None, pattern=r"^[01]*$")  # per sample, "1" when top-1 was right
    eval_batch_size: int | None = None
    eval_s: float | None = None  # the whole pass: preprocessing and model
    per_example_ms: float | None = None  # model time per example over the pass (the handout's latency)
    preprocess_per_example_ms: float | None = None  # preprocessing time per example, timed apart
    evaluated_in: str | None = None  # id of the case that ran the pass (None: this one)


class RooflineResult(_Model):
    """Where the case sits on its device's roofline (suite.metrics.roofline).

    Traffic model: the weights are read once per call; every operator reads its activation inputs
    and writes its outputs to memory (nothing stays in cache between operators; views move
    nothing). Shapes come from the meta-device pass that counts FLOPs. This is an upper bound on
    the traffic, so the intensity is a lower bound. ORT cases use the same counts (the model's,
    not ORT's fused graph). attainable = min(peak FLOP/s, intensity x bandwidth)."""

    achieved_flops_s: NonNegative  # counted FLOPs / median latency
    peak_flops_s: Rate | None = None
    peak_bandwidth_bytes_s: Rate | None = None
    arithmetic_intensity: NonNegative | None = None  # FLOPs / bytes moved
    bytes_moved: Count | None = None
    weight_bytes: Count | None = None
    activation_bytes: Count | None = None
    attainable_flops_s: Rate | None = None
    fraction_of_roof: NonNegative | None = None  # achieved / attainable
    bound: Literal["compute", "memory"] | None = None  # which roof is lower at this intensity
    method: str | None = None


OpFamily = Literal["conv", "matmul/gemm", "activation", "norm", "pooling", "elementwise", "memory/layout", "other"]


class OpProfile(_Model):
    """One operator type of a profiled forward pass (`--profile`), per forward (the profiled calls'
    totals divided by their number)."""

    op: str  # as the profiler names it: aten::conv2d, Conv, FusedConv, Conv (NCHWc)
    family: OpFamily  # the common family that lines eager and ORT operators up
    calls: NonNegative  # calls per forward
    time_ms: Ms  # time per forward (self time of the top-level op, device time on a GPU)
    share: NonNegative  # of the summed operator time
    flops: int | None = None  # per forward, where the op's FLOPs are known


class NodeProfile(_Model):
    """One node (ORT) or top-level call site (eager: op and input shapes) by time per forward."""

    name: str
    op: str
    time_ms: Ms


class ProfileResult(_Model):
    """A per-operator profile of a few calls, taken after the timed loop and the energy window in a
    window of its own (the reported latency never includes it)."""

    profiler: str  # torch.profiler | onnxruntime
    time_kind: Literal["cpu", "cuda"] = "cpu"  # what time_ms counts: host op time or device kernel time
    calls: int = Field(ge=1)  # profiled forward calls
    op_time_ms: Ms  # sum of the operators' time per forward (the mean over the profiled calls)
    wall_ms: Ms  # wall time of one profiled call, profiler overhead included (the mean, like op_time_ms)
    call_op_ms: list[Ms] = Field(default_factory=list)  # each profiled call's summed operator time, in order
    call_wall_ms: list[Ms] = Field(default_factory=list)  # each profiled call's wall time, in order
    window_s: Ms  # the whole window: the profiled session's set-up, the calls, reading the trace
    ops: list[OpProfile] = Field(default_factory=list)  # slowest first
    top_nodes: list[NodeProfile] = Field(default_factory=list)
    note: str | None = None


class Conditions(_Model):
    """What the machine was doing while the case ran: reasons to distrust a number."""

    cpu_temp_c_start: float | None = None
    cpu_temp_c_max: float | None = None
    cpu_freq_mhz_min: float | None = None
    cpu_freq_mhz_max: float | None = None
    # vcgencmd get_throttled bits that concern this case (hex): "now" bits seen in any sample
    # plus since-boot bits newly set during it.
    throttled: str | None = None
    swap_in_bytes: int | None = None
    swap_out_bytes: int | None = None
    other_cpu_percent: float | None = None
    jetson_power_mode: str | None = None


class ExportInfo(_Model):
    exporter: str  # dynamo | torchscript | file
    opset: int | None = None
    providers: list[str] = Field(default_factory=list)
    cache_hit: bool = False
    export_s: float | None = None
    path: str | None = None
    quantized: bool = False
    optimization_level: str | None = None


class TorchBackends(_Model):
    """torch.backends settings a case ran under: what makes two eager figures differ."""

    mkldnn_enabled: bool | None = None
    num_threads: int | None = None
    num_interop_threads: int | None = None
    channels_last: bool = False  # the model and its 4-D inputs in channels_last memory format
