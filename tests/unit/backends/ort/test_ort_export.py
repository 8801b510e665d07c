"""Export: dynamic axes from the input spec, the cache key, both exporters on purpose-built
models, failure classification with the fixture models, and output capture."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from suite.backends.ort import cache
from suite.backends.ort.export import (
    EXAMPLE_BATCH,
    captured_output,
    case_size,
    dynamic_axes,
    ensure_export,
    example_inputs,
    export_key_fields,
    export_onnx,
    model_fingerprint,
    order_by_signature,
    read_opset,
    sweep_axes,
)
from suite.errors import CaseError
from suite.models.inputs import InputSpec, TensorSpec, audio_spec, image_spec, text_spec
from suite.models.registry import ModelEntry, resolve_model

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "models"


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


class Scale(nn.Module):
    """y = W x + b on the last axis; any batch, any length."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(4, 2)

    def forward(self, x):
        return self.lin(x)


class TwoInputs(nn.Module):
    def forward(self, a, b):
        return a - 2 * b


def _entry(spec: InputSpec, name: str = "tiny") -> ModelEntry:
    return ModelEntry(name=name, source="registry", modality=spec.modality, input_spec=spec, builder=None)


SEQ_SPEC = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", "seq_len", 4)),), size_axis="seq_len",
                     default_size=5, min_size=1)


# --------------------------------------------------------------------------- axes


def test_image_axes_batch_and_both_spatial_dims():
    spec = image_spec(224)
    assert sweep_axes(spec) == ("batch", "resolution")
    assert dynamic_axes(spec) == {"x": {0: "batch", 2: "resolution", 3: "resolution"}}


def test_text_axes_cover_every_token_tensor():
    axes = dynamic_axes(text_spec(30522, 128, 512, token_types=True))
    assert axes == {n: {0: "batch", 1: "seq_len"} for n in ("input_ids", "attention_mask", "token_type_ids")}


def test_audio_seconds_vary_the_samples_axis():
    spec = audio_spec(1.0)
    assert sweep_axes(spec) == ("batch", "samples")
    assert dynamic_axes(spec) == {"input_values": {0: "batch", 1: "samples"}}


def test_fixed_axes_stay_static():
    visualbert = resolve_model("visualbert").input_spec
    axes = dynamic_axes(visualbert)
    assert axes["visual_embeds"] == {0: "batch"}  # regions (36) and features (2048) are fixed
    assert axes["input_ids"] == {0: "batch", 1: "seq_len"}
    no_size = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", 8)),))
    assert dynamic_axes(no_size) == {"x": {0: "batch"}}


def test_example_inputs_are_batch_two_at_the_case_or_default_size_and_seeded():
    ex = example_inputs(image_spec(96))
    assert list(ex["x"].shape) == [EXAMPLE_BATCH, 3, 96, 96]
    assert torch.equal(ex["x"], example_inputs(image_spec(96))["x"])
    assert list(example_inputs(image_spec(96), 40)["x"].shape) == [EXAMPLE_BATCH, 3, 40, 40]
    audio = example_inputs(audio_spec(0.5))
    assert list(audio["input_values"].shape) == [EXAMPLE_BATCH, 8000]


def test_case_size_is_read_back_from_the_inputs():
    from suite.models.inputs import make_inputs

    for spec, size in ((image_spec(224), 64), (text_spec(100, 128, 512), 16), (audio_spec(1.0), 0.2)):
        assert case_size(spec, make_inputs(spec, 3, size)) == pytest.approx(size)
    no_axis = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", 8)),))
    assert case_size(no_axis, make_inputs(no_axis, 2, None)) is None


def test_inputs_are_ordered_like_the_forward_signature():
    ordered = order_by_signature(TwoInputs(), {"b": 1, "a": 2, "extra": 3})
    assert list(ordered) == ["a", "b", "extra"]


# --------------------------------------------------------------------------- key


def test_key_is_stable_for_the_same_model_and_moves_with_weights_exporter_opset():
    torch.manual_seed(0)
    m1 = Scale()
    torch.manual_seed(0)
    m2 = Scale()
    torch.manual_seed(1)
    m3 = Scale()
    entry = _entry(SEQ_SPEC)
    base = cache.digest(export_key_fields(m1, entry, "dynamo", None))
    assert cache.digest(export_key_fields(m2, entry, "dynamo", None)) == base
    assert cache.digest(export_key_fields(m3, entry, "dynamo", None)) != base  # another seed, other weights
    assert cache.digest(export_key_fields(m1, entry, "torchscript", None)) != base
    assert cache.digest(export_key_fields(m1, entry, "dynamo", 18)) != base
    assert cache.digest(export_key_fields(m1, _entry(SEQ_SPEC, "other"), "dynamo", None)) != base
    longer = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", "seq_len", 4)),), size_axis="seq_len",
                       default_size=6)
    assert cache.digest(export_key_fields(m1, _entry(longer), "dynamo", None)) != base  # traced at another size
    assert cache.digest(export_key_fields(m1, entry, "dynamo", None, size=5)) == base  # 5 is the default
    assert cache.digest(export_key_fields(m1, entry, "dynamo", None, size=9)) != base


def test_key_records_library_versions():
    fields = export_key_fields(Scale(), _entry(SEQ_SPEC), "dynamo", None)
    assert fields["versions"]["torch"] == torch.__version__.split("+")[0]
    assert fields["versions"]["onnx"] and fields["versions"]["onnxscript"]
    tv = resolve_model("resnet18").build(False)
    assert "torchvision" in export_key_fields(tv, resolve_model("resnet18"), "dynamo", None)["versions"]


def test_fingerprint_sees_structure_and_every_weight_byte():
    m = Scale()
    before = model_fingerprint(m)
    with torch.no_grad():
        m.lin.bias[1] += 1e-6
    after = model_fingerprint(m)
    assert before["weights"] != after["weights"] and before["structure"] == after["structure"]
    assert model_fingerprint(nn.Linear(4, 3))["structure"] != before["structure"]


def test_user_file_models_get_the_same_key_in_every_process():
    entry = resolve_model(str(FIXTURES / "export_fails.py"))
    fp = model_fingerprint(entry.build(False))
    assert fp["class"] == "<file>.DataDependent"  # not the per-process module name
    fields = export_key_fields(entry.build(False), entry, "dynamo", None)
    assert fields["model"]["file"] is not None


# --------------------------------------------------------------------------- exporting


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_one_export_runs_every_batch_and_length(tmp_path, exporter):
    torch.manual_seed(0)
    model = Scale().eval()
    path = tmp_path / "m.onnx"
    export_onnx(model, example_inputs(SEQ_SPEC), dynamic_axes(SEQ_SPEC), path, exporter, None)
    sess = _session(path)
    for batch, length in ((1, 1), (3, 7), (5, 2)):
        x = torch.randn(batch, length, 4)
        (y,) = sess.run(None, {"x": x.numpy()})
        np.testing.assert_allclose(y, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("exporter", ["dynamo", "torchscript"])
def test_a_lone_input_is_passed_positionally_and_keeps_the_spec_name(tmp_path, exporter):
    # nn.Sequential's forward argument is called `input`; the spec calls it `pixels`.
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 2)).eval()
    spec = InputSpec(modality="other", tensors=(TensorSpec("pixels", ("batch", 3, 4)),))
    path = tmp_path / "seq.onnx"
    export_onnx(model, example_inputs(spec), dynamic_axes(spec), path, exporter, None)
    sess = _session(path)
    assert [i.name for i in sess.get_inputs()] == ["pixels"]
    x = torch.randn(4, 3, 4)
    (y,) = sess.run(None, {"pixels": x.numpy()})
    np.testing.assert_allclose(y, model(x).detach().numpy(), rtol=1e-5, atol=1e-6)


def test_opset_request_is_honoured_and_read_back(tmp_path):
    path = tmp_path / "m.onnx"
    export_onnx(Scale(), example_inputs(SEQ_SPEC), dynamic_axes(SEQ_SPEC), path, "torchscript", 14)
    assert read_opset(path) == 14


def test_torchscript_binds_keyword_inputs_by_name(tmp_path):
    spec = InputSpec(modality="other", tensors=(TensorSpec("b", ("batch", 3)), TensorSpec("a", ("batch", 3))))
    path = tmp_path / "two.onnx"
    export_onnx(TwoInputs(), example_inputs(spec), dynamic_axes(spec), path, "torchscript", None)
    a, b = np.ones((2, 3), np.float32), np.full((2, 3), 5.0, np.float32)
    (y,) = _session(path).run(None, {"a": a, "b": b})
    np.testing.assert_allclose(y, a - 2 * b)


def test_unsupported_operator_fixture_is_classified_with_the_op_name(tmp_path):
    entry = resolve_model(str(FIXTURES / "unsupported_op.py"))
    model = entry.build(False)
    with pytest.raises(CaseError) as err:
        export_onnx(model, example_inputs(entry.input_spec), dynamic_axes(entry.input_spec), tmp_path / "u.onnx",
                    "dynamo", None)
    assert err.value.kind == "unsupported"
    assert "bench_fixture.mystery" in str(err.value) and "No ONNX function found" in str(err.value)
    with pytest.raises(CaseError) as ts_err:
        export_onnx(model, example_inputs(entry.input_spec), dynamic_axes(entry.input_spec), tmp_path / "t.onnx",
                    "torchscript", None)
    assert ts_err.value.kind == "unsupported" and "bench_fixture::mystery" in str(ts_err.value)


def test_forced_export_failure_names_the_user_line(tmp_path):
    entry = resolve_model(str(FIXTURES / "export_fails.py"))
    with pytest.raises(CaseError) as err:
        export_onnx(entry.build(False), example_inputs(entry.input_spec), dynamic_axes(entry.input_spec),
                    tmp_path / "f.onnx", "dynamo", None)
    msg = str(err.value)
    assert err.value.kind == "export"
    assert "data-dependent" in msg and "export_fails.py" in msg and "x.sum() > 0" in msg
    assert 'exporter = "torchscript"' in msg  # the way out is named, not taken silently
    assert not list(tmp_path.glob("*.onnx"))


def test_export_prints_nothing_to_the_terminal(tmp_path, capfd):
    export_onnx(Scale(), example_inputs(SEQ_SPEC), dynamic_axes(SEQ_SPEC), tmp_path / "m.onnx", "dynamo", None)
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_captured_output_swallows_python_and_c_level_writes(capfd):
    with captured_output() as text:
        print("python stdout")
        sys.stderr.write("python stderr\n")
        os.write(1, b"fd one\n")
        os.write(2, b"fd two\n")
    captured = text()
    for line in ("python stdout", "python stderr", "fd one", "fd two"):
        assert line in captured
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    print("after")
    assert capfd.readouterr().out == "after\n"


# --------------------------------------------------------------------------- the cache front


def test_second_request_is_a_cache_hit_with_the_same_file(tmp_path):
    torch.manual_seed(0)
    model, entry = Scale().eval(), _entry(SEQ_SPEC)
    first = ensure_export(model, entry, "dynamo", None, tmp_path)
    assert not first.cache_hit and first.export_s > 0 and first.opset and first.path.is_file()
    mtime = first.path.stat().st_mtime_ns
    second = ensure_export(model, entry, "dynamo", None, tmp_path)
    assert second.cache_hit and second.path == first.path and second.path.stat().st_mtime_ns == mtime
    assert second.export_s == first.export_s  # the original export's duration, not 0
    other = ensure_export(model, entry, "torchscript", None, tmp_path)
    assert not other.cache_hit and other.path != first.path and other.exporter == "torchscript"
    assert len(cache.list_entries(tmp_path)) == 2


def test_failed_export_is_cached_and_replayed(tmp_path):
    entry = resolve_model(str(FIXTURES / "export_fails.py"))
    model = entry.build(False)
    with pytest.raises(CaseError) as first:
        ensure_export(model, entry, "dynamo", None, tmp_path)
    (failed,) = cache.list_entries(tmp_path)
    assert failed.failed and failed.meta["error"]["kind"] == "export"
    with pytest.raises(CaseError) as again:
        ensure_export(model, entry, "dynamo", None, tmp_path)
    assert again.value.kind == "export"
    assert str(first.value) in str(again.value) and "cached failure" in str(again.value)


class DiskFull(nn.Module):
    def forward(self, x):
        raise OSError(28, "No space left on device")


def test_transient_failures_are_not_cached(tmp_path):
    spec = InputSpec(modality="other", tensors=(TensorSpec("x", ("batch", 2)),))
    with pytest.raises(CaseError):
        ensure_export(DiskFull(), _entry(spec, "diskfull"), "dynamo", None, tmp_path)
    assert cache.list_entries(tmp_path) == []
