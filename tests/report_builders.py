"""Small hand-built results for the report's unit tests (merge, flags, tables)."""

from __future__ import annotations

from datetime import datetime, timezone

from suite.metrics.latency import TimingPolicy, latency_flags, summarize_latency
from suite.results.schema import (
    CaseResult,
    CaseSpec,
    Environment,
    LatencyResult,
    RunResult,
)

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def env(host: str = "h", cpu: str = "Cortex-A76", board: str | None = None) -> Environment:
    return Environment(hostname=host, os="Linux", kernel="6", machine="aarch64", cpu_model=cpu, device_model=board)


def case(model: str, batch: int, samples: list[float], *, backend: str = "eager", size: float = 224.0,
         status: str = "ok", resize: str | None = None, **extra) -> CaseResult:
    spec = CaseSpec(model=model, source="torchvision", modality="vision", backend=backend, batch_size=batch,
                    size_axis="resolution", input_size=size, threads=4, resize=resize)
    summary = summarize_latency(samples, batch, 0.95)  # the summary a run stores, from the same function
    lat = LatencyResult(cold_ms=samples[0] * 10, warmup_ms=[samples[0] * 2], samples_ms=samples, warmup_settled=True,
                        stop_reason="max_iters", threads=4, summary=summary)
    # the latency flags a run stores, from the same function
    flags = latency_flags(lat, TimingPolicy()) + list(extra.pop("flags", []))
    return CaseResult(spec=spec, id=spec.case_id, status=status, started_at=T0, duration_s=1.0, latency=lat,
                      flags=flags, **extra)


def steady(median: float, n: int = 30) -> list[float]:
    # symmetric +-1% spread around the median: CV well under 10%
    return [median * (1 + 0.01 * ((i % 5) - 2) / 2) for i in range(n)]


def run(cases: list[CaseResult], e: Environment | None = None) -> RunResult:
    return RunResult(suite_version="0.1.0", run_id="r", created_at=T0, environment=e or env(), cases=cases)
