"""Memory figures against what was allocated on purpose: a known array, a known model."""

from __future__ import annotations

import pytest
import torch

from suite.metrics.memory import model_bytes
from suite.run.case import meta_copy

MB = 2**20


# RSS figures are measured in a fresh interpreter: after hundreds of tests this process holds
# freed memory that an allocation can reuse without growing RSS (seen in CI: a 256 MiB array
# "cost" nothing), which would make both a real peak and a second copy of weights invisible.
_KNOWN_ALLOCATION = """
import json, sys, threading, time
import numpy as np
from suite.metrics import memory
kernel_mark = sys.argv[1] == "kernel"
if not kernel_mark:
    memory._reset_peak = lambda: False
elif not memory._reset_peak():
    print(json.dumps({"skip": True})); sys.exit()
threads = threading.active_count()
with memory.PeakRSS() as rss:
    extra_threads = threading.active_count() - threads
    block = np.ones(256 * 2**20, dtype=np.uint8)  # touched: resident, not just reserved
    if not kernel_mark:
        time.sleep(5 * rss.interval_s)  # sampling sees a peak that outlasts its interval
    del block
print(json.dumps({"method": rss.method, "delta": rss.peak - rss.before, "extra_threads": extra_threads}))
"""

_STATIC_METRICS = """
import json, torch
from suite.run.case import static_metrics
from suite.metrics.memory import PeakRSS
static_metrics(torch.nn.Sequential(torch.nn.Linear(8, 8)), {"x": torch.randn(2, 8)}, 2)  # imports, allocator
m = torch.nn.Sequential(torch.nn.Linear(8192, 8192), torch.nn.ReLU(), torch.nn.Linear(8192, 10))
x = {"x": torch.randn(2, 8192)}
with PeakRSS() as rss:
    params, flops = static_metrics(m, x, 2)
print(json.dumps({"delta": rss.peak - rss.before, "unique": params.unique, "macs": flops.macs, "note": flops.note}))
"""


def _fresh(script: str, *args: str) -> dict:
    import json
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kernel_mark", [True, False])
def test_peak_rss_sees_a_known_allocation(kernel_mark):
    """Both ways of finding the peak: the kernel's high-water mark (no thread) and sampling."""
    got = _fresh(_KNOWN_ALLOCATION, "kernel" if kernel_mark else "sampling")
    if got.get("skip"):
        pytest.skip("this kernel refuses to reset the peak-RSS mark")
    assert got["method"] == ("kernel high-water mark (VmHWM)" if kernel_mark else "psutil sampling")
    assert got["extra_threads"] == (0 if kernel_mark else 1)
    assert 240 * MB <= got["delta"] <= 320 * MB, got["delta"] / MB


def test_model_bytes_is_parameters_and_buffers_by_hand():
    m = torch.nn.Sequential(torch.nn.Linear(300, 200), torch.nn.BatchNorm1d(200), torch.nn.Linear(200, 10).half())
    params = 300 * 200 + 200 + 200 + 200  # linear weight and bias, batch-norm weight and bias (float32)
    buffers = 200 + 200  # running mean and variance (float32); num_batches_tracked is one int64
    half = 200 * 10 + 10  # float16
    assert model_bytes(m) == 4 * (params + buffers) + 8 + 2 * half


def test_static_metrics_hold_no_second_copy_of_the_weights():
    """Counting on the meta device must not show up in the case's peak memory: a 256 MiB model
    counted inside PeakRSS adds a few MiB at most (a deepcopy would add 256)."""
    got = _fresh(_STATIC_METRICS)
    assert got["delta"] < 64 * MB, got["delta"] / MB
    assert got["unique"] == 8192 * 8192 + 8192 + 8192 * 10 + 10
    assert got["macs"] == 2 * (8192 * 8192 + 8192 * 10) and got["note"] is None  # counted on meta


def test_meta_copy_keeps_ties_and_leaves_the_model_alone():
    lin = torch.nn.Linear(16, 16, bias=False)
    m = torch.nn.Sequential(lin, torch.nn.ReLU(), torch.nn.Linear(16, 16, bias=False))
    m[2].weight = lin.weight  # tied
    c = meta_copy(m)
    assert c[0].weight is c[2].weight and c[0].weight.device.type == "meta"
    assert m[0].weight.device.type == "cpu" and m[0].weight is m[2].weight
