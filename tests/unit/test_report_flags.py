"""Flags, merging and number formatting, on small hand-built results."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from suite import stats
from suite.report.flags import compute_flags
from suite.report.format import fmt_bytes, fmt_count, fmt_ms, fmt_si, sig, slug
from suite.report.merge import merge_results, short_cpu_name, short_device_name
from suite.results.schema import (
    CaseResult,
    CaseSpec,
    Conditions,
    EnergyResult,
    Environment,
    ErrorInfo,
    LatencyResult,
    LatencySummary,
    RunResult,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def env(host: str = "h", cpu: str = "Cortex-A76", board: str | None = None) -> Environment:
    return Environment(hostname=host, os="Linux", kernel="6", machine="aarch64", cpu_model=cpu, device_model=board)


def case(model: str, batch: int, samples: list[float], *, backend: str = "eager", size: float = 224.0,
         status: str = "ok", **extra) -> CaseResult:
    spec = CaseSpec(model=model, source="torchvision", modality="vision", backend=backend, batch_size=batch,
                    size_axis="resolution", input_size=size, threads=4)
    s = stats.summarize(samples)
    summary = LatencySummary(n=s.n, mean_ms=s.mean, std_ms=s.std, median_ms=s.median, median_ci_low_ms=s.median_ci_low,
                             median_ci_high_ms=s.median_ci_high, ci_level=s.ci_level, iqr_ms=s.iqr, p90_ms=s.p90,
                             p99_ms=s.p99, min_ms=s.min, max_ms=s.max, cv=s.cv,
                             throughput_items_s=batch / s.median * 1000, warnings=list(s.warnings))
    lat = LatencyResult(cold_ms=samples[0] * 10, warmup_ms=[samples[0] * 2], samples_ms=samples, warmup_settled=True,
                        stop_reason="max_iters", threads=4, summary=summary)
    return CaseResult(spec=spec, id=spec.case_id, status=status, started_at=T0, duration_s=1.0, latency=lat, **extra)


def steady(median: float, n: int = 30) -> list[float]:
    # symmetric +-1% spread around the median: CV well under 10%
    return [median * (1 + 0.01 * ((i % 5) - 2) / 2) for i in range(n)]


def run(cases: list[CaseResult], e: Environment | None = None) -> RunResult:
    return RunResult(suite_version="0.1.0", run_id="r", created_at=T0, environment=e or env(), cases=cases)


def flags_by_model_batch(r: RunResult) -> dict[tuple[str, int, str], list[str]]:
    data = merge_results([r])
    fl = compute_flags(data)
    return {(e.model, e.spec.batch_size, e.backend): [f.kind for f in fl[e.uid]] for e in data.entries}


def test_non_monotonic_needs_a_drop_beyond_the_tolerance():
    # 10 -> 20 -> 19.2 (-4%: noise) -> 36 -> 30 (-17%: flagged)
    r = run([case("m", 1, steady(10)), case("m", 2, steady(20)), case("m", 4, steady(19.2)),
             case("m", 8, steady(36)), case("m", 16, steady(30))])
    got = flags_by_model_batch(r)
    assert got[("m", 4, "eager")] == []
    assert got[("m", 16, "eager")] == ["non_monotonic"]
    assert all(got[("m", b, "eager")] == [] for b in (1, 2, 8))


def test_non_monotonic_along_input_size_and_per_backend():
    r = run([case("m", 1, steady(10), size=160.0), case("m", 1, steady(5), size=224.0),
             case("m", 1, steady(3), backend="ort", size=160.0), case("m", 1, steady(6), backend="ort", size=224.0)])
    data = merge_results([r])
    fl = compute_flags(data)
    flagged = [(e.backend, e.spec.input_size) for e in data.entries if any(f.kind == "non_monotonic" for f in fl[e.uid])]
    assert flagged == [("eager", 224.0)]


def test_variance_few_samples_throttling_conditions_energy_and_status():
    noisy = [10.0, 14.0] * 15  # CV ~ 17%
    est = EnergyResult(meter="estimate", method="estimated", window_s=1, inferences=10, items=10, gross_j=1,
                       mean_power_w=5, gross_j_per_inference=0.1, gross_j_per_item=0.1,
                       assumptions=["TDP model"])
    measured = est.model_copy(update={"meter": "rapl", "method": "counter", "assumptions": []})
    r = run([
        case("noisy", 1, noisy),
        case("few", 1, [10.0, 10.1, 9.9, 10.0]),
        case("hot", 1, steady(10), conditions=Conditions(throttled="0x80008")),
        case("swap", 1, steady(10), conditions=Conditions(flags=["swap activity: 120 MiB swapped in, 0 MiB out"])),
        # the words suite.monitor writes for a clock below its maximum
        case("capped", 1, steady(10), conditions=Conditions(flags=[
            "CPU frequency capped: cpu0-3 limited to 1500 of 2400 MHz (scaling_max_freq)"])),
        case("soft", 1, steady(10), conditions=Conditions(
            throttled="0x80008", flags=["soft temperature limit (vcgencmd get_throttled=0x80008)"])),
        case("note", 1, steady(10), flags=["warm-up did not settle"]),
        case("est", 1, steady(10), energy=est),
        case("meas", 1, steady(10), energy=measured),
        case("noe", 1, steady(10), energy_error=ErrorInfo(kind="energy", message="no RAPL")),
        CaseResult(spec=case("dead", 1, steady(1)).spec, id="x", status="failed", started_at=T0, duration_s=0,
                   error=ErrorInfo(kind="oom", message="killed")),
        case("wrong", 1, steady(10), backend="ort", status="parity_failed"),
    ])
    got = {k[0]: v for k, v in flags_by_model_batch(r).items()}
    assert got["noisy"] == ["high_variance"]
    assert got["few"] == ["few_samples"]
    assert got["hot"] == ["throttling"]  # raw vcgencmd bits alone are enough
    assert got["swap"] == ["condition"]
    assert got["capped"] == ["throttling"]
    assert got["soft"] == ["throttling"]  # one flag: the text already says get_throttled
    assert got["note"] == ["case_note"]
    assert got["est"] == ["estimated_energy"]
    assert got["meas"] == []
    assert got["noe"] == ["energy_missing"]
    assert got["dead"] == ["failed"]
    assert got["wrong"] == ["parity_failed"]


def test_throttled_zero_is_not_a_flag():
    r = run([case("cool", 1, steady(10), conditions=Conditions(throttled="0x0"))])
    assert flags_by_model_batch(r)[("cool", 1, "eager")] == []


def test_devices_are_merged_by_identity_and_labelled_uniquely():
    a = run([case("m", 1, steady(10))], env("pi-a", board="Raspberry Pi 5 Model B Rev 1.0"))
    b = run([case("m", 1, steady(12))], env("pi-b", board="Raspberry Pi 5 Model B Rev 1.0"))
    a2 = run([case("m", 2, steady(20))], env("pi-a", board="Raspberry Pi 5 Model B Rev 1.0"))
    data = merge_results([a, b, a2])
    assert [d.label for d in data.devices] == ["Raspberry Pi 5 Model B (pi-a)", "Raspberry Pi 5 Model B (pi-b)"]
    assert [len(d.runs) for d in data.devices] == [2, 1]
    # the same host twice with the same CPU and board cannot be told apart by name: numbered
    c = run([case("m", 1, steady(10))], env("x", cpu="Cortex-A76"))
    d = run([case("m", 1, steady(10))], env("x", cpu="Cortex-A76 "))
    assert sorted(dv.label for dv in merge_results([c, d]).devices) == ["Cortex-A76 (x)", "Cortex-A76 (x) #2"]


def test_short_names():
    assert short_cpu_name("11th Gen Intel(R) Core(TM) i7-1165G7 @ 2.80GHz") == "Core i7-1165G7"
    assert short_cpu_name("AMD Ryzen 7 5800U with Radeon Graphics") == "Ryzen 7 5800U"
    assert short_device_name(env(board="NVIDIA Jetson AGX Orin Developer Kit")) == "Jetson AGX Orin"
    assert short_device_name(env(board="Raspberry Pi 4 Model B Rev 1.4")) == "Raspberry Pi 4 Model B"


def test_missing_comparisons_are_computed_from_the_samples():
    base = steady(10.0, 40)
    fast = steady(6.0, 40)
    data = merge_results([run([case("m", 1, base), case("m", 1, fast, backend="ort")])])
    (cv,) = data.comparisons
    assert cv.computed and cv.comparison.ratio == pytest.approx(0.6)
    assert cv.comparison.significant


@pytest.mark.parametrize("value,expected", [
    (0, "0"), (1234.5, "1,234"), (123.45, "123"), (12.345, "12.3"), (1.2345, "1.23"), (0.012345, "0.0123"),
    (-5.5, "-5.50"),
])
def test_sig(value, expected):
    assert sig(value, 3) == expected


def test_units():
    assert fmt_si(0.0123, "J") == "12.3 mJ"
    assert fmt_si(4.56e9, "FLOP/s") == "4.56 GFLOP/s"
    assert fmt_si(2.5e-6, "J") == "2.50 \u00b5J"
    assert fmt_count(3_504_872) == "3.505 M"
    assert fmt_count(1_814_073_344) == "1.814 G"
    assert fmt_bytes(16 * 2**30) == "16.0 GiB"
    assert fmt_bytes(350 * 2**20) == "350 MiB"
    assert fmt_bytes(512) == "512 B"
    assert fmt_ms(None) == "\u2013"


def test_slug_is_safe_and_distinct():
    a, b = slug("<script>alert(1)</script>", "model-"), slug("script-alert-1-script", "model-")
    assert a != b
    assert all(ch.isalnum() or ch == "-" for ch in a)
