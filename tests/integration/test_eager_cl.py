"""eager-cl: eager in channels_last memory format, on real torch. The model and its 4-D image
inputs are converted (checked on the tensors themselves), the outputs are eager's (the generic
parity step and an independent eager forward), a model without image input runs as eager with
a note, and every torch-run case records torch's settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from suite.backends.eager_cl import NOT_IMAGE_NOTE
from suite.backends.prepare import prepare_backend
from suite.backends.protocol import PrepareRequest
from suite.config.bench_config import validate_config
from suite.plan.sweep import plan_cases
from suite.run.case import run_case
from suite.run.case_parts import CaseContext

TINY = str(Path(__file__).resolve().parents[1] / "fixtures" / "models" / "crash_tiny.py")
FAST = {"warmup_min": 1, "warmup_max": 3, "min_iters": 5, "min_time_s": 0, "max_time_s": 0.3}


def _cases(tmp_path, model, **data):
    cfg = validate_config({"models": [model], "backends": ["eager", "eager-cl"], "batch_sizes": [2],
                           "isolation": "inline", "threads": 1, "energy": {"enabled": False}, "timing": FAST,
                           "output_dir": str(tmp_path), **data})
    planned = plan_cases(cfg, threads=cfg.threads)
    return {p.spec.backend: (p, run_case(p, CaseContext(config=cfg))) for p in planned}, cfg


def test_an_image_model_runs_in_channels_last_with_eagers_outputs(tmp_path):
    cases, cfg = _cases(tmp_path, "mobilenet_v3_small", input_sizes={"image": [64.0]})
    (p, eager), (_, cl) = cases["eager"], cases["eager-cl"]
    assert eager.status == "ok" and cl.status == "ok", (eager.error, cl.error)
    assert cl.parity is not None and cl.parity.passed and cl.parity.reference_backend == "eager"
    assert cl.torch_backends.channels_last and not eager.torch_backends.channels_last
    assert not any(f.kind == "backend_note" for f in cl.flags)
    # The tensors themselves: build the case again and look inside the prepared backend.
    entry = p.entry()
    torch.manual_seed(0)
    model = entry.build(False).eval()
    from suite.models.inputs import make_inputs

    inputs = make_inputs(entry.input_spec, 2, 64.0, 0, "cpu")
    with torch.inference_mode():
        expected = model(*inputs.values())
    req = PrepareRequest(model=model, entry=entry, inputs=inputs, device="cpu", threads=1)
    backend = prepare_backend("eager-cl", req)
    try:
        convs = [m.weight for m in backend.model.modules() if isinstance(m, torch.nn.Conv2d)]
        assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
        (x,) = backend._converted.values()
        assert x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
        with backend.context():
            got = backend.run(inputs)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
        assert backend.parity.passed
    finally:
        backend.close()


def test_a_model_without_image_input_runs_as_eager_with_a_note(tmp_path):
    cases, _ = _cases(tmp_path, TINY)
    _, cl = cases["eager-cl"]
    assert cl.status == "ok" and cl.parity.passed
    notes = [f.detail for f in cl.flags if f.kind == "backend_note"]
    assert notes == [NOT_IMAGE_NOTE]
    assert cl.torch_backends.channels_last is False


def test_torch_settings_are_recorded_per_case(tmp_path):
    before = torch.get_num_threads()
    try:
        cases, _ = _cases(tmp_path, TINY, threads=2)
    finally:
        torch.set_num_threads(before)  # inline cases set this process's threads
    for _, case in cases.values():
        tb = case.torch_backends
        assert tb.num_threads == case.spec.threads == 2  # measure sets torch's threads to the case's
        assert tb.mkldnn_enabled == (torch.backends.mkldnn.enabled and torch.backends.mkldnn.is_available())
        assert tb.num_interop_threads == torch.get_num_interop_threads()  # inline: this very process
