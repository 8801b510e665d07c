"""Memory figures against what was allocated on purpose: a known array, a known model."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from suite.measure import meta_copy, static_metrics
from suite.metrics.memory import PeakRSS, model_bytes

MB = 2**20


@pytest.mark.parametrize("kernel_mark", [True, False])
def test_peak_rss_sees_a_known_allocation(monkeypatch, kernel_mark):
    """Both ways of finding the peak: the kernel's high-water mark (no thread) and sampling."""
    import threading

    from suite.metrics import memory

    if not kernel_mark:
        monkeypatch.setattr(memory, "_reset_peak", lambda: False)
    elif not memory._reset_peak():
        pytest.skip("this kernel refuses to reset the peak-RSS mark")
    threads = threading.active_count()
    with PeakRSS() as rss:
        assert threading.active_count() == threads + (0 if kernel_mark else 1)
        block = np.ones(256 * MB, dtype=np.uint8)  # touched: resident, not just reserved
        if not kernel_mark:
            time.sleep(5 * rss.interval_s)  # sampling sees a peak that outlasts its interval
        del block
    assert rss.method == ("kernel high-water mark (VmHWM)" if kernel_mark else "psutil sampling")
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
