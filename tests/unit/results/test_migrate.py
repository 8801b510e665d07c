"""Schema v1 -> v2: every committed v1 file loads, its flag sentences become typed kinds, and each
reason is kept once. Schema v2 -> v3: an interleaved case's memory, its group's worker's, is not
kept as the backend's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.results.flags import KINDS
from suite.results.io import load_results, parse_results
from suite.results.migrate import v1_flag
from suite.results.schema import SCHEMA_VERSION

V1 = sorted((Path(__file__).parents[2] / "fixtures" / "results" / "v1").glob("*.json"))


@pytest.mark.parametrize("path", V1, ids=lambda p: p.name)
def test_every_committed_v1_file_loads_as_v2(path):
    raw = json.loads(path.read_text())
    assert raw["schema_version"] == 1
    run = load_results(path)
    assert run.schema_version == SCHEMA_VERSION == 3
    assert len(run.cases) == len(raw["cases"])
    for c in run.cases:
        assert len({(f.kind, f.detail) for f in c.flags}) == len(c.flags)
        assert all(f.kind in KINDS for f in c.flags)
    # the numbers are untouched
    assert [c.latency.samples_ms for c in run.cases if c.latency] == \
        [c["latency"]["samples_ms"] for c in raw["cases"] if c.get("latency")]


V2 = Path(__file__).parents[2] / "fixtures" / "results" / "v2"


def test_a_real_v2_interleaved_run_loses_its_group_memory():
    """interleaved-tiny-bert.json was written by the v2 suite (commit 3810625): eager and ORT
    interleaved in one worker, both given that worker's peak RSS."""
    raw = json.loads((V2 / "interleaved-tiny-bert.json").read_text())
    assert raw["schema_version"] == 2
    # the group's, twice (each read at its case's end: the same peak within a page or two)
    peaks = [c["memory"]["rss_peak_bytes"] for c in raw["cases"]]
    assert max(peaks) / min(peaks) < 1.001
    run = load_results(V2 / "interleaved-tiny-bert.json")
    assert run.schema_version == 3
    for c in run.cases:
        assert c.memory is None
        [note] = [f for f in c.flags if f.kind == "memory_failed"]
        assert "group's worker" in note.detail and note.metrics == ["memory"]
        assert c.latency.samples_ms == next(r for r in raw["cases"] if r["id"] == c.id)["latency"]["samples_ms"]


def test_v2_cases_of_their_own_worker_keep_their_memory():
    run = load_results(Path(__file__).parents[2] / "fixtures" / "results" / "laptop-x86.json")
    raw = json.loads((Path(__file__).parents[2] / "fixtures" / "results" / "laptop-x86.json").read_text())
    with_memory = [c for c in raw["cases"] if c.get("memory")]
    assert with_memory and raw["schema_version"] == 2
    for c in run.cases:
        stored = next(r for r in raw["cases"] if r["id"] == c.id).get("memory")
        if stored:
            assert c.memory.scope == "case" and c.memory.rss_peak_bytes == stored["rss_peak_bytes"]


def test_a_real_v1_run_maps_every_sentence_to_its_kind():
    """quick-run-tiny-model.json was written by the v1 suite (commit eb891e7) on this kind of VM."""
    path = next(p for p in V1 if p.name == "quick-run-tiny-model.json")
    raw = json.loads(path.read_text())
    run = load_results(path)
    first_raw, first = raw["cases"][0], run.cases[0]
    # v1 said each latency warning twice (summary + case flags) and each condition twice
    assert len(first_raw["flags"]) + len(first_raw["latency"]["summary"]["warnings"]) + \
        len(first_raw["conditions"]["flags"]) > len(first.flags)
    kinds = list(dict.fromkeys(f.kind for f in first.flags))  # CV and IQR: two details of one kind
    assert kinds == ["energy_estimated", "high_variance", "outliers", "warmup_unsettled", "ci_missed", "contention"]
    contention = first.flags[-1]
    assert contention.metrics == ["latency", "energy"] and contention.detail.startswith("other processes used")
    assert first.energy is not None and first.conditions is not None


def test_v1_comparison_and_condition_flags():
    rpi = load_results(next(p for p in V1 if p.name == "rpi5.json"))
    hot = [c for c in rpi.cases if any(f.kind == "throttling" for f in c.flags)]
    assert len(hot) == 1 and hot[0].spec.model == "squeezenet1_0" and len(hot[0].flags) >= 2
    laptop = load_results(next(p for p in V1 if p.name == "laptop-x86.json"))
    parity = [c for c in laptop.comparisons if c.flags]
    assert [f.kind for c in parity for f in c.flags] == ["parity_failed"]
    assert parity[0].flags[0].metrics == ["ratio"]


@pytest.mark.parametrize("text,kind", [
    ("latency: few samples (4 < 10)", "few_samples"),
    ("latency: wide IQR (34% of median)", "high_variance"),
    ("energy: short window: 0.50 s < 2 s recommended", "energy_window"),
    ("energy: idle baseline is 700 s old (re-measure every 300 s)", "energy_baseline"),
    ("energy: net energy not above idle: the dynamic energy is within the meter's noise", "energy_noise"),
    ("energy: failed", "energy_failed"),
    ("swap activity: 120 MiB swapped in, 0 MiB out during the case", "swap"),
    ("hypervisor steal: 12% of CPU time went to other virtual machines", "contention"),
    ("under-voltage detected (vcgencmd get_throttled=0x50005)", "throttling"),
    ("Jetson power mode changed during the case: MAXN -> 15W", "power_mode_change"),
    ("cool-down: CPU still at 81.0 °C after waiting 600 s (the case started warm)", "cooldown_timeout"),
    ("ort: io_binding off on a GPU provider: host<->device copies are inside the timed run", "backend_note"),
    ("failed", "backend_note"),  # "failed" from anything but the energy window is not an energy flag
])
def test_v1_sentences(text, kind):
    assert v1_flag(text)["kind"] == kind


def test_hostile_v1_documents_fail_validation_with_the_field_named():
    doc = json.loads(next(p for p in V1 if p.name == "quick-run-tiny-model.json").read_text())
    doc["cases"][0]["flags"] = "not a list"
    from suite.errors import ResultsFileError

    with pytest.raises(ResultsFileError, match="cases.0.flags"):
        parse_results(json.dumps(doc), "x.json")
    doc["cases"] = {"a": 1}
    with pytest.raises(ResultsFileError, match="cases"):
        parse_results(json.dumps(doc), "x.json")
