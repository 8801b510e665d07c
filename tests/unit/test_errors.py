"""suite.errors: the suite's error types. A user mistake is exit 2 with a message that names what
to do; the close-name suggestions are held against difflib's own matches."""

from __future__ import annotations

import difflib

from suite.errors import (
    BenchError,
    CaseError,
    ConfigError,
    MissingDependencyError,
    ResultsFileError,
    UnknownModelError,
    closest,
)


def test_every_user_facing_error_exits_2_and_a_case_error_is_not_one():
    for exc in (ConfigError("x"), UnknownModelError("m", []), ResultsFileError("r.json", "truncated"),
                MissingDependencyError("onnx")):
        assert isinstance(exc, BenchError) and exc.exit_code == 2
    assert not isinstance(CaseError("export", "x"), BenchError) and CaseError("export", "x").kind == "export"


def test_an_unknown_model_suggests_difflibs_close_matches_first():
    known = ["resnet18", "resnet50", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_0"]
    err = UnknownModelError("resnet19", known)
    expected = difflib.get_close_matches("resnet19", known, n=5, cutoff=0.5)
    assert err.suggestions[:len(expected)] == expected and err.name == "resnet19"
    assert str(err).startswith(f"Unknown model 'resnet19'. Did you mean: {', '.join(err.suggestions)}? Run `bench "
                               "models`")
    assert "Did you mean" not in str(UnknownModelError("zzzz", known))


def test_closest_folds_case_and_adds_names_that_contain_the_word():
    assert closest("MOBILENET", ["mobilenet_v2", "Mobilenet_v3_small", "resnet18"]) == ["mobilenet_v2",
                                                                                        "Mobilenet_v3_small"]
    assert closest("net", ["resnet18", "squeezenet1_0", "vgg16"], n=1) == ["resnet18"]
    assert closest("x", []) == []


def test_the_messages_say_where_and_how():
    err = ResultsFileError("/tmp/r.json", "not valid JSON")
    assert (err.path, err.reason, str(err)) == ("/tmp/r.json", "not valid JSON",
                                                "Cannot read results file /tmp/r.json: not valid JSON")
    assert str(MissingDependencyError("onnxruntime", "ort", "the ort backend")) == (
        "The optional dependency 'onnxruntime' is not installed (needed for the ort backend). Install it with: "
        "pip install 'bench-suite[ort]'")
    assert str(MissingDependencyError("pynvml")).endswith("Install it with: pip install pynvml")
