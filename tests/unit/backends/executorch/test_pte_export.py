"""suite.backends.executorch.pte_export: a real torch.export + XNNPACK lowering of a tiny model, cached
like the ONNX exports (every file hashed; a damaged program found and rebuilt, the case told); a model
torch.export cannot capture and one the lowering refuses fail as their own kinds, remembered."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from suite.backends.executorch.et_backend import load_program
from suite.backends.executorch.pte_export import PTE_FILE, ensure_pte, lowering_failure, pte_key
from suite.backends.ort import cache
from suite.errors import CaseError
from suite.models.inputs import InputSpec, TensorSpec
from suite.models.registry import ModelEntry

SPEC = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", 6)),))
ENTRY = ModelEntry(name="tiny", source="registry", modality="other", input_spec=SPEC, builder=None)


def _model(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).eval()


class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(6, 3)

    def forward(self, x):
        if x.sum() > 0:  # a Python branch on data
            return self.linear(x)
        return -self.linear(x)


@torch.library.custom_op("bench_et_test::triple", mutates_args=())
def triple(x: torch.Tensor) -> torch.Tensor:
    return x * 3


@triple.register_fake
def _(x):
    return torch.empty_like(x)


class CustomOp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(6, 3)

    def forward(self, x):
        return self.linear(triple(x))


def _execute(path, x):
    _, method = load_program(path, 1)
    return method.execute([x])[0]


def test_a_program_is_cached_verified_and_a_damaged_one_rebuilt(tmp_path):
    model, x = _model(), torch.randn(2, 6)
    key = pte_key(model, ENTRY, {"x": x})
    first = ensure_pte(model, ENTRY, {"x": x}, tmp_path, key)
    assert not first.cache_hit and first.export_s > 0 and first.path.name == PTE_FILE
    assert first.meta["delegated_nodes"] >= 3 and first.meta["portable_ops"] == {}
    assert set(first.meta["files"]) == {PTE_FILE} and len(first.meta["files"][PTE_FILE]["sha256"]) == 64
    torch.testing.assert_close(_execute(first.path, x), model(x).detach())

    again = ensure_pte(model, ENTRY, {"x": x}, tmp_path, key)
    assert again.cache_hit and again.export_s == first.export_s and again.note is None

    data = bytearray(first.path.read_bytes())  # one byte changed, same size: only the hash can tell
    data[len(data) // 2] ^= 0xFF
    first.path.write_bytes(bytes(data))
    entry = cache.lookup(tmp_path, "tiny", key.key)
    assert entry is not None and "SHA-256 differs" in cache.verify(entry)
    rebuilt = ensure_pte(model, ENTRY, {"x": x}, tmp_path, key)
    assert not rebuilt.cache_hit and "was rebuilt: model.pte no longer has the content" in rebuilt.note
    torch.testing.assert_close(_execute(rebuilt.path, x), model(x).detach())


def test_the_key_follows_shapes_dtypes_weights_and_quantisation():
    model = _model()
    base = pte_key(model, ENTRY, {"x": torch.zeros(2, 6)}).key
    assert base == pte_key(_model(), ENTRY, {"x": torch.ones(2, 6)}).key  # values are not part of it
    assert base != pte_key(model, ENTRY, {"x": torch.zeros(3, 6)}).key
    assert base != pte_key(model, ENTRY, {"x": torch.zeros(2, 6, dtype=torch.float64)}).key
    assert base != pte_key(_model(seed=1), ENTRY, {"x": torch.zeros(2, 6)}).key
    assert base != pte_key(model, ENTRY, {"x": torch.zeros(2, 6)}, {"scheme": "int8"}).key


def test_export_and_lowering_failures_are_their_own_kinds_and_remembered(tmp_path):
    bad, x = DataDependent().eval(), torch.randn(2, 6)
    key = pte_key(bad, ENTRY, {"x": x})
    with pytest.raises(CaseError) as err:
        ensure_pte(bad, ENTRY, {"x": x}, tmp_path, key)
    msg = str(err.value)
    assert err.value.kind == "export" and msg.startswith("ExecuTorch torch.export failed: ")
    assert "data-dependent" in msg and "if x.sum() > 0" in msg and "\n" not in msg
    with pytest.raises(CaseError, match="cached failure") as again:
        ensure_pte(bad, ENTRY, {"x": x}, tmp_path, key)
    assert again.value.kind == "export"

    custom = CustomOp().eval()
    with pytest.raises(CaseError) as err:
        ensure_pte(custom, ENTRY, {"x": x}, tmp_path, pte_key(custom, ENTRY, {"x": x}))
    assert err.value.kind == "lower" and "bench_et_test::triple" in str(err.value)


def test_a_runtime_refusal_names_the_missing_operator():
    output = ("[operator_registry.cpp:256] kernel 'aten::foo.out' not found.\n"
              "[method.cpp:812] Missing operator: [3] aten::foo.out\n")
    err = lowering_failure("lower", "runtime load", RuntimeError("loading method forward failed with error 0x14"),
                           output)
    assert err.kind == "lower" and str(err) == ("ExecuTorch runtime load failed: RuntimeError: loading method forward "
                                                "failed with error 0x14 (missing operator: [3] aten::foo.out)")


class Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(6, 3)

    def forward(self, x, w):
        return self.linear(x) * w


def test_several_inputs_are_passed_in_the_order_of_forwards_signature(tmp_path):
    model = Scaled().eval()
    inputs = {"w": torch.randn(2, 3), "x": torch.randn(2, 6)}  # the dict's order is not forward's
    out = ensure_pte(model, ENTRY, inputs, tmp_path, pte_key(model, ENTRY, inputs))
    assert out.meta["input_names"] == ["x", "w"]
    _, method = load_program(out.path, 1)
    torch.testing.assert_close(method.execute([inputs["x"], inputs["w"]])[0], model(**inputs).detach())
