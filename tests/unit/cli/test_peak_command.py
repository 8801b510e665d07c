"""suite.cli.peak_command: `bench peak` prints this machine's ceilings. A consistent ceilings
record is put in a cache folder of the test's own (under this machine's key), so the command
reads it rather than measuring; every figure it prints is derived from that record by hand."""

from __future__ import annotations

from datetime import datetime, timezone

from typer.testing import CliRunner

from suite.cli import peak_command
from suite.metrics.peak import cache_key
from suite.metrics.peak_cache import ENV_VAR
from suite.results.schema import DevicePeaks, PeakFigure


def _record() -> DevicePeaks:
    def fig(v, med):
        return PeakFigure(value=v, median_value=med, spread=0.02, repeats=5, method="test")

    return DevicePeaks(device="cpu", threads=1, gemm_flops_s=48e9, gemm={"torch.mm": fig(48e9, 46e9)},
                       bandwidth_bytes_s=12e9, bandwidth={"copy": fig(15e9, 14e9), "triad": fig(12e9, 11e9)},
                       measured_at=datetime(2026, 3, 1, 12, 30, tzinfo=timezone.utc), duration_s=3.0,
                       key=cache_key("cpu", 1))


def test_the_cached_ceilings_and_their_ridge_point(app_of, tmp_path):
    (tmp_path / f"{_record().key}.json").write_text(_record().model_dump_json())
    res = CliRunner(env={ENV_VAR: str(tmp_path), "COLUMNS": "200"}).invoke(app_of(peak_command),
                                                                           ["peak", "--threads", "1"])
    assert res.exit_code == 0, res.stdout
    out = " ".join(res.stdout.split())
    assert "GEMM torch.mm 48.0 GFLOP/s 46.0 GFLOP/s 2.0%" in out
    assert "memory triad 12.0 GB/s 11.0 GB/s" in out
    # ridge = 48e9 FLOP/s / 12e9 B/s = 4 FLOP/byte
    assert f"ridge point 4.0 FLOP/byte (from the cache in {tmp_path}, 2026-03-01 12:30 UTC)" in out


def test_the_json_is_the_record(app_of, tmp_path):
    (tmp_path / f"{_record().key}.json").write_text(_record().model_dump_json())
    res = CliRunner(env={ENV_VAR: str(tmp_path)}).invoke(app_of(peak_command), ["peak", "-t", "1", "--json"])
    assert DevicePeaks.model_validate_json(res.stdout) == _record().model_copy(update={"cached": True})


def test_a_device_that_is_not_one_is_refused(app_of):
    from suite.errors import BenchError

    res = CliRunner().invoke(app_of(peak_command), ["peak", "--device", "tpu"])
    assert isinstance(res.exception, BenchError) and "give cpu, cuda or cuda:N" in str(res.exception)
