"""Property-based: generated configs and mangled results files thrown at the loaders. Each
input either loads or raises the suite's own error type (a BenchError: one paragraph, exit
status 2), never anything else: no KeyError, RecursionError, ValueError or pydantic error
may escape to the user as a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from suite.config.bench_config import BenchConfig, build_config, validate_config
from suite.errors import BenchError, ConfigError, ResultsFileError
from suite.results.io import dumps, load_results, parse_results
from suite.results.schema import RunResult

FIXTURE = Path(__file__).parents[2] / "fixtures" / "results" / "laptop-x86.json"
SETTINGS = settings(max_examples=int(__import__("os").environ.get("BENCH_HYPOTHESIS_EXAMPLES", "300")), deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ----------------------------------------------------------------------------- strategies

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["eager", "ort", "cpu", "cuda", "resnet18", "inline", "process", "dynamo", "", "1e309"]),
)
json_values = st.recursive(
    scalars, lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20,
)
CONFIG_KEYS = list(BenchConfig.model_fields) + ["bogus"]
SUB_KEYS = {
    "timing": ["warmup_min", "warmup_max", "min_time_s", "max_time_s", "min_iters", "max_iters", "ci_target", "x"],
    "energy": ["enabled", "meter", "min_window_s", "sample_hz", "region", "intensity_g_per_kwh", "y"],
    "ort": ["exporter", "opset", "optimization_level", "providers", "io_binding", "z"],
    "monitor": ["enabled", "interval_s", "hot_temp_c", "sysfs_root", "vcgencmd", "w"],
}


@st.composite
def configs(draw) -> dict:
    """Dicts shaped like configs (real keys, often plausible values) so the validators past
    the first type check are reached too, mixed with arbitrary JSON."""
    out = {}
    for key in draw(st.lists(st.sampled_from(CONFIG_KEYS), max_size=8, unique=True)):
        if key in SUB_KEYS:
            sub = draw(st.lists(st.sampled_from(SUB_KEYS[key]), max_size=4, unique=True))
            out[key] = {k: draw(json_values) for k in sub} if draw(st.booleans()) else draw(json_values)
        elif key == "models":
            out[key] = draw(st.one_of(
                st.lists(st.one_of(st.sampled_from(["resnet18", "x.py", ""]), st.dictionaries(
                    st.sampled_from(["name", "pretrained", "overrides", "input_sizes", "junk"]), json_values, max_size=3)),
                    max_size=3),
                json_values))
        elif key == "batch_sizes":
            out[key] = draw(st.one_of(st.lists(st.integers(-3, 2**40), max_size=4), json_values))
        elif key == "input_sizes":
            out[key] = draw(st.one_of(st.dictionaries(st.sampled_from(["*", "image", "text", "pics"]),
                                                      st.lists(st.floats(), max_size=3), max_size=2), json_values))
        else:
            out[key] = draw(json_values)
    return out


# ----------------------------------------------------------------------------- configs


@SETTINGS
@given(configs())
@example({"models": ["resnet18"], "case_timeout_s": float("inf")})
@example({"models": ["resnet18"], "input_sizes": {"image": [float("nan")]}})
@example({"models": ["resnet18"], "isolation": "inline", "worker_memory_limit_mb": 512})
@example({"models": [{"name": "resnet18", "junk": 1}]})
def test_validate_config_loads_or_raises_config_error(data):
    try:
        cfg = validate_config(data, source="generated.toml")
    except ConfigError as exc:
        msg = str(exc)
        assert msg.startswith("Invalid configuration in generated.toml") and "\n" not in msg.strip()
        return
    assert isinstance(cfg, BenchConfig)
    # what loads is usable: finite numbers, and a digest (the --resume identity) exists
    assert cfg.case_timeout_s < float("inf") and len(cfg.digest()) == 16


def test_inf_nan_and_contradictions_are_refused():
    for data, field in [
        ({"models": ["resnet18"], "case_timeout_s": float("inf")}, "case_timeout_s"),
        ({"models": ["resnet18"], "timing": {"max_time_s": float("nan")}}, "timing.max_time_s"),
        ({"models": ["resnet18"], "input_sizes": {"image": [float("inf")]}}, "input_sizes.image"),
        ({"models": ["resnet18"], "cooldown_temp_c": -5}, "cooldown_temp_c"),
        ({"models": ["resnet18"], "worker_memory_limit_mb": 1}, "worker_memory_limit_mb"),
    ]:
        with pytest.raises(ConfigError, match=f"'{field}"):
            validate_config(data)
    with pytest.raises(ConfigError, match="worker_memory_limit_mb needs isolation = 'process'"):
        validate_config({"models": ["resnet18"], "isolation": "inline", "worker_memory_limit_mb": 512})


@SETTINGS
@given(text=st.text(max_size=200), suffix=st.sampled_from([".toml", ".yaml", ".yml", ".json"]))
@example(text="timeout = inf\n", suffix=".toml")
@example(text="a: &x [*x]\n", suffix=".yaml")
@example(text="- 1\n- 2\n", suffix=".yaml")
@example(text="models = [\"resnet18\"]\ncase_timeout_s = nan\n", suffix=".toml")
def test_config_files_load_or_raise_config_error(tmp_path_factory, text, suffix):
    f = tmp_path_factory.mktemp("cfg") / f"c{suffix}"
    f.write_text(text, encoding="utf-8")
    try:
        build_config(config_file=str(f))
    except ConfigError as exc:
        assert str(f) in str(exc)


# ----------------------------------------------------------------------------- results files


def _seed_text() -> str:
    return FIXTURE.read_text(encoding="utf-8")


def _assert_loads_or_results_error(text: str) -> None:
    try:
        run = parse_results(text, source="mangled.json")
    except ResultsFileError as exc:
        assert str(exc).startswith("Cannot read results file mangled.json: ")
        return
    assert isinstance(run, RunResult)
    parse_results(dumps(run))  # what loads can be saved and read back


def test_seed_fixture_loads():
    import json

    import numpy as np

    raw = json.loads(_seed_text())
    run = parse_results(_seed_text())
    assert len(run.cases) == len(raw["cases"]) > 0
    first = next(c for c in run.cases if c.latency is not None)
    assert first.latency.summary.median_ms == pytest.approx(float(np.median(first.latency.samples_ms)))


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=10**6))
def test_truncated_results_file(cut):
    text = _seed_text()
    cut = cut % len(text)
    assume(cut < len(text.rstrip()))
    with pytest.raises(ResultsFileError, match="truncated"):
        parse_results(text[:cut], source="mangled.json")


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.binary(min_size=0, max_size=4)), min_size=1, max_size=5))
def test_byte_mangled_results_file(tmp_path_factory, edits):
    raw = bytearray(_seed_text().encode())
    for pos, new in edits:
        pos %= len(raw)
        raw[pos:pos + len(new)] = new
    f = tmp_path_factory.mktemp("res") / "mangled.json"
    f.write_bytes(bytes(raw))
    try:
        load_results(f)
    except ResultsFileError:
        pass


def _paths(doc, prefix=()):
    """Every (path, value) in a JSON document."""
    yield prefix, doc
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc[:3]):
            yield from _paths(v, (*prefix, i))


SEED_DOC = json.loads(FIXTURE.read_text(encoding="utf-8"))
SEED_PATHS = [p for p, _ in _paths(SEED_DOC) if p]


@SETTINGS
@given(
    changes=st.lists(st.tuples(st.sampled_from(SEED_PATHS), st.one_of(st.just("<delete>"), json_values)),
                     min_size=1, max_size=4),
)
@example(changes=[(("schema_version",), 0)])
@example(changes=[(("schema_version",), 99)])
@example(changes=[(("schema_version",), -1)])
@example(changes=[(("schema_version",), True)])
@example(changes=[(("format",), ["bench-results"])])
@example(changes=[(("cases",), "<delete>"), (("schema_version",), 0)])
@example(changes=[(("cases", 0, "latency", "summary", "mean_ms"), "1E309")])  # found by CI: inf read, null written
@example(changes=[(("cases", 0, "latency", "summary", "mean_ms"), float("nan"))])
def test_structurally_mangled_results_document(changes):
    doc = json.loads(json.dumps(SEED_DOC))
    for path, value in changes:
        node = doc
        try:
            for part in path[:-1]:
                node = node[part]
            if value == "<delete>":
                del node[path[-1]]
            else:
                node[path[-1]] = value
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change removed this path
    _assert_loads_or_results_error(json.dumps(doc))


@SETTINGS
@given(doc=json_values)
@example(doc=[])
@example(doc={"format": "bench-results"})
@example(doc={"schema_version": 1})
@example(doc={"cases": []})
def test_arbitrary_json_is_not_a_results_file(doc):
    _assert_loads_or_results_error(json.dumps(doc))


@pytest.mark.parametrize("text, reason", [
    ("[" * 100_000, "nested too deeply"),
    ('{"schema_version": ' + "1" * 5000 + "}", "not valid JSON"),
    ("", "truncated"),
    ("\x00\x01", "not valid JSON"),
])
def test_pathological_documents(text, reason):
    with pytest.raises(ResultsFileError, match=reason):
        parse_results(text, source="x.json")


@pytest.mark.parametrize("value", ["1E309", "NaN", "-Infinity"])
def test_non_finite_figures_are_refused_with_the_field_named(value):
    doc = json.loads(json.dumps(SEED_DOC))
    doc["cases"][0]["latency"]["summary"]["mean_ms"] = value
    with pytest.raises(ResultsFileError, match=r"x\.json: field 'cases\.0\.latency\.summary\.mean_ms': .*finite"):
        parse_results(json.dumps(doc), source="x.json")


def test_load_errors_are_results_file_errors(tmp_path):
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    for path, reason in [(tmp_path / "missing.json", "no such file"), (tmp_path, "is a folder"),
                         (tmp_path / "bin.json", "not UTF-8"), (str(tmp_path / "nul\x00.json"), "null")]:
        with pytest.raises(ResultsFileError, match=reason):
            load_results(path)
    assert issubclass(ResultsFileError, BenchError)
