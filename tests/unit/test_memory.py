"""Memory figures against what was allocated on purpose: a known array, a known model."""

from __future__ import annotations

import numpy as np
import torch

from suite.measure import meta_copy, static_metrics
from suite.metrics.memory import PeakRSS, model_bytes

MB = 2**20


def test_peak_rss_sees_a_known_allocation():
    with PeakRSS() as rss:
        block = np.ones(256 * MB, dtype=np.uint8)  # touched: resident, not just reserved
        del block
    delta = rss.peak - rss.before
    assert 240 * MB <= delta <= 320 * MB, delta / MB


def test_model_bytes_is_parameters_and_buffers_by_hand():
    m = torch.nn.Sequential(torch.nn.Linear(300, 200), torch.nn.BatchNorm1d(200), torch.nn.Linear(200, 10).half())
    params = 300 * 200 + 200 + 200 + 200  # linear weight and bias, batch-norm weight and bias (float32)
    buffers = 200 + 200  # running mean and variance (float32); num_batches_tracked is one int64
    half = 200 * 10 + 10  # float16
    assert model_bytes(m) == 4 * (params + buffers) + 8 + 2 * half


def test_static_metrics_hold_no_second_copy_of_the_weights():
    """Counting on the meta device must not show up in the case's peak memory: a 256 MiB model
    counted inside PeakRSS adds a few MiB at most (a deepcopy would add 256)."""
    small = torch.nn.Sequential(torch.nn.Linear(8, 8))
    static_metrics(small, {"x": torch.randn(2, 8)}, 2)  # one-time imports and allocator set-up
    m = torch.nn.Sequential(torch.nn.Linear(8192, 8192), torch.nn.ReLU(), torch.nn.Linear(8192, 10))
    x = {"x": torch.randn(2, 8192)}
    with PeakRSS() as rss:
        params, flops = static_metrics(m, x, 2)
    assert rss.peak - rss.before < 64 * MB, (rss.peak - rss.before) / MB
    assert params.unique == 8192 * 8192 + 8192 + 8192 * 10 + 10
    assert flops.macs == 2 * (8192 * 8192 + 8192 * 10) and flops.note is None  # counted on meta


def test_meta_copy_keeps_ties_and_leaves_the_model_alone():
    lin = torch.nn.Linear(16, 16, bias=False)
    m = torch.nn.Sequential(lin, torch.nn.ReLU(), torch.nn.Linear(16, 16, bias=False))
    m[2].weight = lin.weight  # tied
    c = meta_copy(m)
    assert c[0].weight is c[2].weight and c[0].weight.device.type == "meta"
    assert m[0].weight.device.type == "cpu" and m[0].weight is m[2].weight
