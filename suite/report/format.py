"""Number formatting for humans (HTML and Markdown). CSV never goes through here: it gets raw
values so that a spreadsheet can recompute anything.

And `neutralize`, the one place where a stored string is made safe to show: every writer
(the terminal, Markdown, CSV, HTML, figures) passes results-file text through it."""

from __future__ import annotations

import math
import re

DASH = "\u2013"  # shown where a value is missing

_SI = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "\u00b5"), (1e-9, "n")]


# What a stored string must not carry to a terminal or a viewer: C0/C1 control characters
# (ESC starts terminal escape sequences, CR overwrites a line, 0x9b is a one-byte CSI), DEL,
# Unicode bidi controls (U+202E shows "gnp.exe" as "exe.png"), line/paragraph separators,
# invisible zero-width characters, and lone surrogates (not encodable: a UTF-8 write would fail).
_UNSAFE_CHARS = ("\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060\u2066-\u2069"
                 "\ufeff\ud800-\udfff")
_UNSAFE: dict[str, re.Pattern[str]] = {}


def _escape_char(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def neutralize(text: str, keep: str = "\n\t") -> str:
    """`text` with every control, bidi and invisible formatting character written out as a visible
    escape (ESC -> `\\x1b`, U+202E -> `\\u202e`), so it shows what it holds and does nothing.
    Characters in `keep` (by default newline and tab) stay as they are."""
    pattern = _UNSAFE.get(keep)
    if pattern is None:
        kept = "".join(f"\\x{ord(c):02x}" for c in keep)
        pattern = re.compile(f"(?![{kept}])[{_UNSAFE_CHARS}]" if keep else f"[{_UNSAFE_CHARS}]")
        _UNSAFE[keep] = pattern
    return pattern.sub(_escape_char, text)


def short_name(name: str, width: int) -> str:
    """`name` in at most `width` characters, cut in the middle: the head and the tail stay, so two
    variants of one long path (`.../net.py:create_model:width=0.5` and `width=1.0`) stay apart."""
    if len(name) <= width:
        return name
    tail = (width - 1) * 2 // 3
    return name[:width - 1 - tail] + "\u2026" + name[len(name) - tail:]


def sig(x: float, digits: int = 3) -> str:
    """`digits` significant digits without scientific notation for everyday magnitudes."""
    if x is None or not math.isfinite(x):
        return DASH
    if x == 0:
        return "0"
    mag = math.floor(math.log10(abs(x)))
    if mag >= digits - 1:
        return f"{x:,.0f}"
    if mag < -6:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{max(0, digits - 1 - mag)}f}"


def fmt_ms(x: float | None) -> str:
    return DASH if x is None else sig(x, 3)


def fmt_si(x: float | None, unit: str = "", digits: int = 3) -> str:
    """1.23 mJ, 4.56 GFLOP/s ... (SI prefix chosen so the mantissa is in [1, 1000))."""
    if x is None or not math.isfinite(x):
        return DASH
    if x == 0:
        return f"0 {unit}".strip()
    for scale, prefix in _SI:
        if abs(x) >= scale:
            return f"{sig(x / scale, digits)} {prefix}{unit}".strip()
    scale, prefix = _SI[-1]
    return f"{sig(x / scale, digits)} {prefix}{unit}".strip()


def fmt_count(x: float | None) -> str:
    """Parameter and operation counts: 11.69 M, 1.81 G (4 significant digits: students quote them)."""
    if x is None:
        return DASH
    return fmt_si(float(x), "", 4)


def fmt_bytes(x: float | None) -> str:
    if x is None:
        return DASH
    x = float(x)
    for scale, unit in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if abs(x) >= scale:
            return f"{sig(x / scale, 3)} {unit}"
    return f"{x:.0f} B"


def fmt_ratio(x: float | None) -> str:
    return DASH if x is None else f"{x:.2f}\u00d7"


def fmt_p(p: float | None) -> str:
    if p is None:
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def fmt_num(value: float) -> str:
    """An input size as written in a config: 224, not 224.0; 2.5 stays 2.5."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def fmt_size(axis: str | None, value: float | None) -> str:
    if value is None:
        return DASH
    v = fmt_num(value)
    return f"{v}" if not axis else f"{v} ({axis})"


def slug(text: str, prefix: str = "") -> str:
    """An HTML id/file-name safe slug; a hash keeps different names apart after cleaning."""
    import hashlib

    clean = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "x"
    digest = hashlib.sha1(text.encode("utf-8")).hexdigest()[:6]
    return f"{prefix}{clean}-{digest}"
