"""Bytes moved, arithmetic intensity and the roofline of a case, against hand derivations."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import torch

from suite.metrics.roofline import Traffic, count_traffic, ridge_point, roofline_for
from suite.results.schema import DevicePeaks
from suite.run.case import meta_copy, static_traffic

F32 = 4


def _traffic(model: torch.nn.Module, x: torch.Tensor) -> Traffic:
    m = meta_copy(model.eval())
    xm = x.to("meta")
    return count_traffic(m, lambda: m(xm))


def test_conv_bytes_and_intensity_by_hand():
    # Conv2d(3 -> 8, 3x3, padding 1) on 1x3x8x8: weights 8*3*3*3 + 8 bias, input 3*8*8, output 8*8*8.
    conv = torch.nn.Conv2d(3, 8, 3, padding=1)
    t = _traffic(conv, torch.randn(1, 3, 8, 8))
    assert t.weight_bytes == (8 * 3 * 3 * 3 + 8) * F32 == 896
    assert t.activation_read_bytes == 3 * 8 * 8 * F32
    assert t.activation_write_bytes == 8 * 8 * 8 * F32
    flops = 2 * (8 * 8 * 8) * (3 * 3 * 3)  # 2 x MACs: each output element is a 27-term dot product
    r = roofline_for(flops, t, median_ms=1.0, peaks=None)
    assert r.bytes_moved == 896 + 768 + 2048
    assert r.arithmetic_intensity == pytest.approx(27648 / 3712)


def test_linear_bytes_by_hand():
    # Linear(16 -> 4) on 2x16: weight 64 + bias 4 read once; x (2x16) read, y (2x4) written; the
    # transpose of the weight is a view and moves nothing.
    t = _traffic(torch.nn.Linear(16, 4), torch.randn(2, 16))
    assert (t.weight_bytes, t.activation_read_bytes, t.activation_write_bytes) == (68 * F32, 32 * F32, 8 * F32)


def test_inplace_and_views_and_shared_weights():
    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 4, bias=False)

        def forward(self, x):  # noqa: ANN001, ANN201
            y = torch.relu_(self.lin(x))  # in place: reads and writes y (2x4)
            y = y.view(8).view(2, 4)  # views: nothing
            return self.lin(y)  # the same weight again: read once per call in the model

    t = _traffic(Net(), torch.randn(2, 4))
    assert t.weight_bytes == 16 * F32
    # lin: read x 8, write 8; relu_: read 8, write 8; lin: read 8, write 8 (elements)
    assert t.activation_read_bytes == 24 * F32 and t.activation_write_bytes == 24 * F32


def test_static_traffic_falls_back_to_the_real_model_like_the_flop_count():
    class NeedsData(torch.nn.Module):  # .item() has no meta kernel (transformers' mask checks do this)
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 2)

        def forward(self, x):  # noqa: ANN001, ANN201
            return self.lin(x) if x.sum().item() != 0 else self.lin(x)

    t = static_traffic(NeedsData(), {"x": torch.ones(3, 4)})
    # sum: reads x (12), writes a scalar (1); item reads it (1); linear: reads x (12), writes 6; weights 10
    assert t is not None and t.weight_bytes == 10 * F32
    assert t.activation_read_bytes == (12 + 1 + 12) * F32 and t.activation_write_bytes == (1 + 6) * F32


def test_static_traffic_is_none_when_the_forward_fails():
    class Bad(torch.nn.Module):
        def forward(self, x):  # noqa: ANN001, ANN201
            raise RuntimeError("no meta kernel")

    assert static_traffic(Bad(), {"x": torch.randn(1)}) is None


def _peaks(flops_s: float, bw: float) -> DevicePeaks:
    return DevicePeaks(device="cpu", threads=1, gemm_flops_s=flops_s, bandwidth_bytes_s=bw,
                       measured_at=datetime(2026, 1, 1, tzinfo=timezone.utc), duration_s=1.0)


def test_roofline_attainable_fraction_and_bound_by_hand():
    peaks = _peaks(100e9, 10e9)  # ridge at 10 FLOP/byte
    assert ridge_point(peaks) == 10
    t = Traffic(weight_bytes=1_000_000, activation_read_bytes=500_000, activation_write_bytes=500_000)  # 2 MB
    # memory side: 4e6 FLOPs / 2e6 bytes = 2 FLOP/byte -> roof 20 GFLOP/s; 1 ms -> 4 GFLOP/s achieved
    r = roofline_for(4_000_000, t, median_ms=1.0, peaks=peaks)
    assert r.arithmetic_intensity == 2.0
    assert r.attainable_flops_s == pytest.approx(20e9)
    assert r.achieved_flops_s == pytest.approx(4e9)
    assert r.fraction_of_roof == pytest.approx(0.2)
    assert r.bound == "memory"
    # compute side: 100 FLOP/byte -> the GEMM roof (100 GFLOP/s)
    r = roofline_for(200_000_000, t, median_ms=4.0, peaks=peaks)
    assert r.bound == "compute" and r.attainable_flops_s == 100e9
    assert r.fraction_of_roof == pytest.approx(50e9 / 100e9)
    # no peaks: intensity and achieved, no roof
    r = roofline_for(200_000_000, t, median_ms=4.0, peaks=None)
    assert r.attainable_flops_s is None and r.fraction_of_roof is None and r.arithmetic_intensity == 100.0


def test_other_backends_say_they_are_placed_with_the_models_counts():
    t = Traffic(weight_bytes=1000, activation_read_bytes=500, activation_write_bytes=500)
    assert "not its own graph" not in roofline_for(4000, t, 1.0, None, "eager").method
    ort = roofline_for(4000, t, 1.0, None, "ort")
    assert ort.method.startswith(roofline_for(4000, t, 1.0, None).method) and "ort is placed with the PyTorch" in ort.method
    assert ort.arithmetic_intensity == 2.0  # the same counts as eager
