"""What a per-operator profile says about a case, in one sentence each (the report's explanations).

Pure functions over stored results: `non_gemm_explanation` (where the time went, and, given the
case's fraction of its roofline, whether the case sits far below its roof because its time goes to
operators the FLOP count does not see) and `fusion_explanation` (what one backend fused away
compared with another). The fraction of roof is read defensively (`roof_fraction`): the roofline
field may be absent in the results being read.
"""

from __future__ import annotations

from suite.results.schema import ProfileResult

GEMM_FAMILIES = ("conv", "matmul/gemm")  # the operators whose FLOPs are counted
DOMINATED = 0.5  # non-GEMM operators take at least this share of the operator time
FAR_BELOW_ROOF = 0.25  # a case achieving less than this fraction of its attainable roof


def roof_fraction(case: object) -> float | None:
    """The case's fraction of its roof (achieved / attainable FLOP/s), when its results carry one."""
    roof = getattr(case, "roofline", None)
    value = getattr(roof, "fraction_of_roof", None) if roof is not None else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def family_shares(profile: ProfileResult) -> dict[str, float]:
    """Share of the operator time per family, largest first."""
    out: dict[str, float] = {}
    for op in profile.ops:
        out[op.family] = out.get(op.family, 0.0) + op.share
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def non_gemm_share(profile: ProfileResult) -> float:
    return sum(s for fam, s in family_shares(profile).items() if fam not in GEMM_FAMILIES)


def non_gemm_explanation(profile: ProfileResult, fraction_of_roof: float | None = None) -> str | None:
    """A sentence when the profile is dominated by operators outside convolutions and matrix
    products (None otherwise); it says the case is far below its roof when `fraction_of_roof` says so."""
    share = non_gemm_share(profile)
    if share < DOMINATED:
        return None
    top = [f"{fam} {s:.0%}" for fam, s in family_shares(profile).items() if fam not in GEMM_FAMILIES and s >= 0.05]
    where = f" ({', '.join(top[:3])})" if top else ""
    text = (f"{share:.0%} of the operator time goes to operators outside convolutions and matrix products{where}: "
            "memory-bound work that the FLOP count does not see")
    if fraction_of_roof is not None and fraction_of_roof < FAR_BELOW_ROOF:
        text = (f"Far below its roof ({fraction_of_roof:.0%} of attainable) and the profile is dominated by "
                f"non-GEMM ops: {text}")
    return text[0].upper() + text[1:] + "."


def fusion_explanation(reference: ProfileResult, other: ProfileResult, reference_name: str,
                       other_name: str) -> str | None:
    """Families that run as operators of their own on `reference` but not at all on `other` (folded
    into its other operators), with the calls per forward that disappeared."""
    def calls(p: ProfileResult) -> dict[str, float]:
        out: dict[str, float] = {}
        for op in p.ops:
            out[op.family] = out.get(op.family, 0.0) + op.calls
        return out

    ref, oth = calls(reference), calls(other)
    # "other" holds operators of no known family (eval-mode dropout, plugins' ops): no fusion is claimed for it.
    gone = [(fam, n) for fam, n in ref.items()
            if n >= 1 and oth.get(fam, 0.0) == 0 and fam not in GEMM_FAMILIES and fam != "other"]
    if not gone:
        return None
    gone.sort(key=lambda fn: (-fn[1], fn[0]))
    parts = ", ".join(f"{fam} ({_num(n)} call{'' if n == 1 else 's'})" for fam, n in gone)
    saved = sum(reference_time(reference, fam) for fam, _ in gone)
    return (f"{other_name} runs no separate {' / '.join(f for f, _ in gone)} operators: it fused {parts} per forward "
            f"into its other operators; on {reference_name} they took {saved:.3g} ms per forward.")


def reference_time(profile: ProfileResult, family: str) -> float:
    return sum(op.time_ms for op in profile.ops if op.family == family)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.1f}"
