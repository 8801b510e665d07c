"""The torch-compile backend on real torch.compile (inductor, CPU): compile time recorded like
export time, parity through the generic step, a compile failure a failed case."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from suite.backends.prepare import prepare_backend
from suite.backends.protocol import PrepareRequest
from suite.backends.torch_compile import CompileOptions
from suite.errors import CaseError
from suite.models.inputs import InputSpec, TensorSpec, make_inputs
from suite.models.registry import ModelEntry

SPEC = InputSpec(modality="image", tensors=(TensorSpec("x", ("batch", 3, "resolution", "resolution")),),
                 size_axis="resolution", default_size=16, min_size=4)
ENTRY = ModelEntry(name="small-convnet", source="registry", modality="image", input_spec=SPEC, builder=None)


class SmallConvNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.head = nn.Linear(8, 10)

    def forward(self, x):
        return self.head(torch.relu(self.conv(x)).mean(dim=(2, 3)))


class GraphBreak(SmallConvNet):
    def forward(self, x):
        y = super().forward(x)
        if y.sum().item() > -1e9:  # data-dependent Python control flow: a graph break
            y = y * 1.0
        return y


def _req(model: nn.Module, **options) -> PrepareRequest:
    return PrepareRequest(model=model, entry=ENTRY, inputs=make_inputs(SPEC, 2, 16, seed=3), device="cpu",
                          threads=1, options=CompileOptions(**options), parity_tolerance=1e-4)


def test_compiled_model_matches_eager_and_records_compile_time():
    torch.manual_seed(0)
    model = SmallConvNet().eval()
    req = _req(model)
    with torch.no_grad():
        expected = model(req.inputs["x"])
    backend = prepare_backend("torch-compile", req)
    try:
        assert backend.name == "torch-compile" and not backend.synchronized
        assert backend.export.exporter == "torch.compile[inductor]" and backend.export.export_s > 0
        assert backend.export.optimization_level == "default"
        p = backend.parity
        assert p is not None and p.passed and p.reference_backend == "eager" and p.max_rel_error < 1e-4
        with backend.context():
            got = backend.run(req.inputs)
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    finally:
        backend.close()


def test_a_compile_failure_is_a_case_error_of_kind_compile():
    torch.manual_seed(0)
    with pytest.raises(CaseError) as err:
        prepare_backend("torch-compile", _req(GraphBreak().eval(), fullgraph=True))
    assert err.value.kind == "compile" and "first call" in str(err.value)
    with pytest.raises(CaseError) as err:
        prepare_backend("torch-compile", _req(SmallConvNet().eval(), backend="no-such-backend"))
    assert err.value.kind == "compile"


def test_a_compile_failure_becomes_a_failed_case_and_the_run_goes_on(tmp_path):
    from suite.config.bench_config import validate_config
    from suite.run.runner import RunOptions, run_benchmark

    model_file = tmp_path / "breaks.py"
    model_file.write_text(
        "import torch\nINPUT_SHAPE = (8,)\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self):\n        super().__init__(); self.l = torch.nn.Linear(8, 2)\n"
        "    def forward(self, x):\n        y = self.l(x)\n        return y * 2 if y.sum().item() > 0 else y\n"
        "def create_model():\n    return M()\n")
    cfg = validate_config({
        "models": [str(model_file)], "backends": ["eager", "torch-compile"], "batch_sizes": [1],
        "energy": {"enabled": False}, "monitor": {"enabled": False}, "isolation": "inline", "report": False,
        "torch_compile": {"fullgraph": True}, "output_dir": str(tmp_path),
        "timing": {"warmup_min": 1, "warmup_max": 2, "min_iters": 3, "min_time_s": 0, "max_time_s": 0.2},
    })
    run = run_benchmark(cfg, RunOptions())
    by = {c.spec.backend: c for c in run.cases}
    assert by["eager"].status == "ok"
    assert by["torch-compile"].status == "failed" and by["torch-compile"].error.kind == "compile"
