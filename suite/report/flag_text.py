"""Where the report matches flags against words: the stopgaps until flags carry typed kinds.

Two places decide by text whether a flag says something twice. They live here, and only here,
so that they can be replaced in one place; neither changes what suite.report.flags computes.
"""

from __future__ import annotations

from suite.report.flags import Flag


def restates_flag(text: str, flag: Flag) -> bool:
    """A cell whose text already says what the flag's badge would: the status "parity failed"
    beside the flag "parity failed", the method "estimated (...)" beside "estimated"."""
    return text.startswith(flag.label)


def is_parity_note(note: str) -> bool:
    """A comparison's stored note about parity (suite.comparisons.parity_flag; older results
    files word it differently)."""
    return "parity" in note.lower()
