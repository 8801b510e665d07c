"""Upgrade a raw results document, step by step, to the current schema version.

Each step takes a document of version N and returns one of version N+1 (history.md says what
changed). Steps never trust the document: a field of an unexpected type is left as it is, for
validation to name.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

from suite.errors import ResultsFileError
from suite.results.flags import KINDS
from suite.results.schema import FORMAT_NAME, SCHEMA_VERSION, CaseSpec

Doc = dict[str, object]  # a results document as read (JSON): nothing in it is trusted until validated


def _v0_to_v1(doc: Doc) -> Doc:
    """v0 (pre-release) stored `results` instead of `cases` and had no `format` field. Its case
    ids were not yet derived from the spec: they are, now (loading checks that they match)."""
    doc = dict(doc)
    doc["cases"] = doc.pop("results", [])
    if isinstance(doc["cases"], list):
        doc["cases"] = [_v0_case(c) for c in doc["cases"]]
    doc["format"] = FORMAT_NAME
    doc["schema_version"] = 1
    return doc


def _v0_case(case: object) -> object:
    from pydantic import ValidationError


    if not isinstance(case, dict) or not isinstance(case.get("spec"), dict):
        return case
    try:
        spec = CaseSpec.model_validate(case["spec"])
    except ValidationError:
        return case  # left as it is, for validation to name
    return {**case, "id": spec.case_id}


# v1 flags were sentences. This table is the one place the suite reads their words: it turns
# the sentences of v1 files into the kinds of v2. Order matters (first match wins).
_V1_WORDS: tuple[tuple[str, str], ...] = (
    (r"^few samples", "few_samples"),
    (r"^high variance", "high_variance"),
    (r"^wide iqr", "high_variance"),
    (r"^outliers", "outliers"),
    (r"warm-up did not settle", "warmup_unsettled"),
    (r"ci target .* not reached", "ci_missed"),
    (r"^estimated", "energy_estimated"),
    (r"^failed$", "energy_failed"),
    (r"short window|few power samples|sampling ran at", "energy_window"),
    (r"idle baseline", "energy_baseline"),
    (r"not above idle", "energy_noise"),
    (r"power mode changed", "power_mode_change"),
    (r"^cool-down", "cooldown_timeout"),
    (r"swap", "swap"),
    (r"other processes|hypervisor steal", "contention"),
    (r"throttl|thermal|temperature|under-voltage|undervoltage|frequency capped|clock capped|clock low|cpu hot",
     "throttling"),
)


def v1_flag(text: str) -> dict[str, str | list[str]]:
    """A v1 flag sentence as a v2 flag."""
    area, sep, rest = text.partition(": ")
    body = rest if sep and area in ("latency", "energy") else text
    low = body.lower()
    kind = next((k for pattern, k in _V1_WORDS if re.search(pattern, low)), "backend_note")
    if kind.startswith("energy") and area != "energy" and kind != "energy_baseline":
        kind = "backend_note"  # "failed" or "estimated" said by something other than the energy window
    k = KINDS[kind]
    return {"kind": kind, "severity": k.severity, "metrics": list(k.metrics), "detail": body}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _v1_case(case: object) -> object:
    if not isinstance(case, dict):
        return case
    case = dict(case)
    texts = _strings(case.get("flags"))
    latency = case.get("latency")
    if isinstance(latency, dict) and isinstance(latency.get("summary"), dict):
        summary = dict(latency["summary"])
        texts += [f"latency: {w}" for w in _strings(summary.pop("warnings", []))]
        case["latency"] = {**latency, "summary": summary}
    energy = case.get("energy")
    if isinstance(energy, dict):
        energy = dict(energy)
        texts += [f"energy: {q}" for q in _strings(energy.pop("quality_flags", []))]
        case["energy"] = energy
    conditions = case.get("conditions")
    if isinstance(conditions, dict):
        conditions = dict(conditions)
        texts += _strings(conditions.pop("flags", []))
        case["conditions"] = conditions
    if "flags" in case and not isinstance(case["flags"], list):
        return case  # for validation to name
    if isinstance(energy, dict) and energy.get("method") == "estimated" and \
            not any(t.startswith("energy: estimated") for t in texts):
        # v1 reports derived this one from the method; v2 stores it like every other flag
        texts.append("energy: estimated (" + "; ".join(_strings(energy.get("assumptions"))) + ")")
    flags, seen = [], set()
    for text in texts:
        f = v1_flag(text)
        if (f["kind"], f["detail"]) not in seen:
            seen.add((f["kind"], f["detail"]))
            flags.append(f)
    case["flags"] = flags
    return case


def _v1_comparison(comp: object) -> object:
    if not isinstance(comp, dict) or not isinstance(comp.get("flags"), list):
        return comp

    k = KINDS["parity_failed"]
    flags = [{"kind": "parity_failed", "severity": k.severity, "metrics": ["ratio"], "detail": t}
             if "parity" in t else v1_flag(t) for t in _strings(comp["flags"])]
    return {**comp, "flags": flags}


def _v1_to_v2(doc: Doc) -> Doc:
    """v2: flags are typed (kind, severity, metrics, detail) and live once, on the case; the
    summary's warnings, the energy's quality_flags and the conditions' flags are gone."""
    doc = dict(doc)
    if isinstance(cases := doc.get("cases"), list):
        doc["cases"] = [_v1_case(c) for c in cases]
    if isinstance(comparisons := doc.get("comparisons"), list):
        doc["comparisons"] = [_v1_comparison(c) for c in comparisons]
    doc["schema_version"] = 2
    return doc


GROUP_MEMORY = ("peak memory not kept: it was measured in the interleaved group's worker, which held every "
                "backend of the group at once (files before schema v3), so it was the group's, not this backend's")


def _v2_case(case: object) -> object:
    """An interleaved case's memory was its group's worker's, every backend's alike: dropped,
    with a flag that says so. Other cases' memory was their own worker's: scope "case"."""
    if not isinstance(case, dict) or not isinstance(case.get("memory"), dict) or "scope" in case["memory"]:
        return case
    latency = case.get("latency")
    if isinstance(latency, dict) and latency.get("interleaved_with") and isinstance(case.get("flags", []), list):
        k = KINDS["memory_failed"]
        note = {"kind": "memory_failed", "severity": k.severity, "metrics": list(k.metrics), "detail": GROUP_MEMORY}
        return {**case, "memory": None, "flags": [*case.get("flags", []), note]}
    return {**case, "memory": {**case["memory"], "scope": "case"}}


def _v2_to_v3(doc: Doc) -> Doc:
    """v3: an interleaved case's memory is its backend's alone (issue 19)."""
    doc = dict(doc)
    if isinstance(cases := doc.get("cases"), list):
        doc["cases"] = [_v2_case(c) for c in cases]
    doc["schema_version"] = 3
    return doc


MIGRATIONS: dict[int, Callable[[Doc], Doc]] = {0: _v0_to_v1, 1: _v1_to_v2, 2: _v2_to_v3}


def migrate(doc: Doc, source: object = "<document>") -> Doc:
    version = doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ResultsFileError(source, "no integer 'schema_version' field: not a bench results file")
    if version > SCHEMA_VERSION:
        raise ResultsFileError(
            source,
            f"schema version {version} is newer than this suite understands ({SCHEMA_VERSION}); "
            "upgrade bench (pip install -U bench-suite) to read it",
        )
    while version < SCHEMA_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ResultsFileError(source, f"no migration from schema version {version}")
        doc = step(doc)
        version = cast(int, doc["schema_version"])  # every step sets its own version
    return doc
