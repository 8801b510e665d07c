"""Parity: output flattening order and errors relative to the output's scale, by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from suite.backends.parity import (
    compare_outputs,
    eager_outputs,
    flatten_outputs,
    output_errors,
)
from suite.errors import CaseError


def test_flatten_tensor_tuple_dict_and_none_in_a_stable_order():
    a, b, c, d = (torch.full((1,), float(i)) for i in range(4))
    nested = (a, None, {"x": b, "skip": None, "y": [c, (d,)]}, 3, "text")
    assert [float(t) for t in flatten_outputs(nested)] == [0.0, 1.0, 2.0, 3.0]
    assert flatten_outputs(None) == []
    assert flatten_outputs(a)[0] is a


def test_flatten_hf_model_output_in_field_order_without_none():
    from transformers.modeling_outputs import BaseModelOutputWithPooling

    last, pooled = torch.zeros(1, 2, 3), torch.ones(1, 3)
    out = BaseModelOutputWithPooling(last_hidden_state=last, pooler_output=pooled, hidden_states=None)
    flat = flatten_outputs(out)
    assert len(flat) == 2 and flat[0] is last and flat[1] is pooled


def test_errors_relative_to_the_reference_scale():
    ref = np.array([[2.0, -4.0], [1.0, 0.5]])
    got = np.array([[2.0, -4.1], [1.05, 0.5]])
    abs_err, rel = output_errors(ref, got)
    assert abs_err == pytest.approx(0.1)
    assert rel == pytest.approx(0.1 / 4.0)  # max |ref| is 4


def test_tiny_outputs_are_judged_by_their_own_scale():
    # A random MobileNet's logits are ~1e-9: absolute error says nothing there.
    ref = np.array([1e-9, -2e-9])
    got = np.array([1.1e-9, -2e-9])
    abs_err, rel = output_errors(ref, got)
    assert abs_err == pytest.approx(1e-10)
    assert rel == pytest.approx(0.05)


def test_all_zero_reference_is_compared_absolutely():
    assert output_errors(np.zeros(3), np.array([0.0, 1e-7, 0.0])) == pytest.approx((1e-7, 1e-7))
    assert output_errors(np.zeros(3), np.zeros(3)) == (0.0, 0.0)


def test_any_nan_or_inf_fails_parity_even_where_both_sides_agree():
    # Issue 23: NaN weights made eager and ORT output NaN alike, and the check passed with error 0.
    ref = np.array([np.nan, 1.0, np.inf])
    assert output_errors(ref, np.array([np.nan, 1.5, np.inf])) == pytest.approx((0.5, 0.5))  # over finite values
    for got in (np.array([np.nan, 1.0, np.inf]), np.array([0.0, 1.0, np.inf])):
        res = compare_outputs([ref], [got], tolerance=1e-3)
        assert not res.passed and res.non_finite == int((~np.isfinite(ref)).sum() + (~np.isfinite(got)).sum())
    only_candidate = compare_outputs([np.ones(4)], [np.array([1.0, np.nan, 1.0, 1.0])], tolerance=1e-3)
    assert not only_candidate.passed and only_candidate.non_finite == 1 and only_candidate.max_rel_error == 0.0
    clean = compare_outputs([np.ones(4)], [np.ones(4)], tolerance=1e-3)
    assert clean.passed and clean.non_finite == 0


def test_compare_takes_the_worst_output_and_applies_the_tolerance():
    ref = [np.array([10.0, 0.0]), np.array([1.0])]
    got = [np.array([10.0, 0.01]), np.array([1.002])]
    res = compare_outputs(ref, got, tolerance=1e-3)
    assert res.max_abs_error == pytest.approx(0.01)
    assert res.max_rel_error == pytest.approx(0.002)  # output 1: 0.002 / 1 beats output 0: 0.01 / 10
    assert res.outputs_compared == 2
    assert not res.passed
    assert compare_outputs(ref, got, tolerance=0.003).passed
    assert res.reference_backend == "eager"


def test_different_output_count_or_shape_is_a_parity_error_not_a_number():
    with pytest.raises(CaseError, match="returns 1 output"):
        compare_outputs([np.zeros(2), np.zeros(2)], [np.zeros(2)], 1e-3)
    with pytest.raises(CaseError, match=r"shape \[3\]"):
        compare_outputs([np.zeros(2)], [np.zeros(3)], 1e-3)


def test_eager_outputs_run_without_autograd():
    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        lin.bias.zero_()
    out = eager_outputs(lin, {"x": torch.tensor([[1.0, 1.0]])})  # a lone input goes positionally
    assert isinstance(out[0], np.ndarray)
    np.testing.assert_allclose(out[0], [[3.0, 7.0]])


def test_the_generic_parity_step_compares_the_timed_path_with_eager():
    """suite.backends.parity.check_parity: what every non-eager backend goes through."""
    from types import SimpleNamespace

    from suite.backends.parity import check_parity, reference_outputs
    from suite.backends.protocol import BackendBase

    lin = torch.nn.Linear(2, 2)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
        lin.bias.zero_()
    x = {"x": torch.tensor([[1.0, 1.0]])}

    class Scaled(BackendBase):
        calls = 0

        def run(self, inputs):
            Scaled.calls += 1
            return lin(inputs["x"]) * 1.02  # 2% off: errors 0.06 and 0.14, worst relative 0.14 / 7

        def parity_tolerance(self, configured):
            return configured * 10

    req = SimpleNamespace(inputs=x, parity_tolerance=1e-3)
    ref = reference_outputs(lin, x)
    res = check_parity(Scaled(), ref, req)
    assert Scaled.calls == 1 and res.reference_backend == "eager"
    assert res.max_abs_error == pytest.approx(0.14, rel=1e-5) and res.max_rel_error == pytest.approx(0.02, rel=1e-5)
    assert res.tolerance == pytest.approx(1e-2) and res.passed is False  # the backend's own tolerance, 10x
    # no eager model (an .onnx file): the backend's fallback reference, or no parity at all
    assert check_parity(Scaled(), None, req) is None

    class WithFallback(Scaled):
        def fallback_reference(self, inputs):
            return "fp32", [np.array([[3.0, 7.0]])]

    res = check_parity(WithFallback(), None, req)
    assert res.reference_backend == "fp32" and res.max_rel_error == pytest.approx(0.02, rel=1e-5)

