"""The table model and its writers: HTML cells (for the template), Markdown and CSV.

A table's rows are typed objects (one dataclass per table, see suite.report.tables) holding raw
values; each column says how to read its value from a row (by default the row's field named
like the column) and how to show it. Formatting happens per output: HTML and Markdown get
rounded, human figures with the flags beside the numbers they qualify; CSV gets the raw values
(full precision, machine-friendly column names with units) so a spreadsheet can recompute anything.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from suite.report.badges import Flag, worst_severity
from suite.report.format import DASH, fmt_size, neutralize, sig

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

FlagMap = dict[str, list[Flag]]  # entry uid -> its flags (suite.report.badges.compute_flags)

R = TypeVar("R", bound="DataclassInstance")  # a table's row type: one dataclass per table
T = TypeVar("T")


# ----------------------------------------------------------------------------- cell text


def plain_text(v: object) -> str:
    """The default cell text: a dash for nothing, yes/no, 3 significant digits."""
    if v is None or v == "":
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return sig(v, 3)
    return str(v)


def interval_text(fmt: Callable[[T], str]) -> Callable[[tuple[T, T] | None], str]:
    """Text of a (low, high) value: "[1.2, 3.4]"."""
    def f(v: tuple[T, T] | None) -> str:
        if v is None:
            return DASH
        lo, hi = v
        return f"[{fmt(lo)}, {fmt(hi)}]"

    return f


def input_size_text(v: float | None) -> str:
    return fmt_size(None, v)


# ----------------------------------------------------------------------------- the model


@dataclass(frozen=True)
class Column(Generic[R]):
    key: str  # CSV header (snake_case with the unit); also the row field read when `get` is None
    title: str
    unit: str = ""
    numeric: bool = False
    # A column's value type is its row field's (read by name), so it varies column by column
    # and the formatters below take what their column holds: Any, not a single static type.
    fmt: Callable[[Any], str] = plain_text
    slot: str | None = None  # which flags show beside this column's numbers
    help: str = ""
    html: bool = True
    md: bool = True
    csv: bool = True
    nowrap: bool = False
    measure: bool = False  # a measured number: struck through when its case failed the parity check
    # Flag kinds this column's text already states (the status "parity failed", the energy method
    # "estimated"): their badge would say it twice, so the cell keeps only their colour.
    restates: frozenset[str] = frozenset()
    csv_value: Callable[[Any], object] | None = None  # what the CSV gets instead of the raw value
    get: Callable[[R], object] | None = None  # the raw value of a row, for columns that are no field

    def value(self, row: R) -> object:
        return getattr(row, self.key) if self.get is None else self.get(row)


@dataclass
class Row(Generic[R]):
    data: R  # the typed row: one field per column (or what the columns' `get` reads)
    flags: list[Flag] = field(default_factory=list)  # shown in the columns whose slot they name
    cell_flags: dict[str, list[Flag]] = field(default_factory=dict)  # column key -> flags for that cell
    links: dict[str, str] = field(default_factory=dict)  # column key -> href
    titles: dict[str, str] = field(default_factory=dict)  # column key -> tooltip
    anchor: str | None = None
    css: str = ""

    def flags_for(self, col: Column) -> list[Flag]:
        return [f for f in self.flags if f.applies(col.slot)] + self.cell_flags.get(col.key, [])

    def all_flags(self) -> list[Flag]:
        out = list(self.flags)
        for fl in self.cell_flags.values():
            out += [f for f in fl if f not in out]
        return out


@dataclass(frozen=True)
class Cell:
    text: str
    sort: str
    numeric: bool
    flags: list[Flag]
    href: str | None
    title: str | None
    css: str


@dataclass
class Table(Generic[R]):
    name: str  # file stem for the CSV/Markdown
    title: str
    columns: list[Column[R]]
    rows: list[Row[R]]
    caption: str = ""
    groups: list[tuple[str, int]] | None = None  # header groups (label, number of columns)

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        """A column or a cell annotation that names no field or column is a typo: fail here, not
        with an empty column in a report."""
        keys = {c.key for c in self.columns}
        if len(keys) != len(self.columns):
            raise ValueError(f"table {self.name}: two columns share a key")
        checked: set[type] = set()
        for r in self.rows:
            t = type(r.data)
            if t not in checked:
                checked.add(t)
                names = {f.name for f in dataclasses.fields(t)}
                missing = [c.key for c in self.columns if c.get is None and c.key not in names]
                if missing:
                    raise ValueError(f"table {self.name}: {t.__name__} has no field {', '.join(missing)}")
            for notes in (r.cell_flags, r.links, r.titles):
                unknown = set(notes) - keys
                if unknown:
                    raise ValueError(f"table {self.name}: no column {', '.join(sorted(unknown))}")

    @property
    def html_columns(self) -> list[Column[R]]:
        return [c for c in self.columns if c.html]

    def cells(self, row: Row[R]) -> list[Cell]:
        out = []
        for c in self.html_columns:
            v = c.value(row.data)
            text = c.fmt(v)
            flags = row.flags_for(c)
            sev = worst_severity(flags)
            flags = [f for f in flags if f.kind not in c.restates]
            # A parity failure strikes the measured numbers through: they are the speed of a wrong model.
            struck = (c.measure and v is not None
                      and any(f.kind == "parity_failed" for f in row.flags + row.cell_flags.get(c.key, [])))
            css = " ".join(x for x in ("num" if c.numeric else "", "nowrap" if c.nowrap else "",
                                       f"cell-{sev}" if sev else "", "struck" if struck else "") if x)
            out.append(Cell(text=text, sort=sort_key(v), numeric=c.numeric, flags=flags,
                            href=row.links.get(c.key), title=row.titles.get(c.key), css=css))
        return out

    def html_rows(self) -> list[tuple[Row[R], list[Cell]]]:
        return [(r, self.cells(r)) for r in self.rows]

    def _group_labels(self) -> dict[str, str]:
        """Column key -> its header group's label (HTML columns are the ones the groups span)."""
        out: dict[str, str] = {}
        if not self.groups:
            return out
        cols = iter(self.html_columns)
        for label, span in self.groups:
            for _ in range(span):
                c = next(cols, None)
                if c is not None:
                    out[c.key] = label
        return out

    # ------------------------------------------------------------------ Markdown and CSV
    def to_markdown(self, heading_level: int = 2) -> str:
        cols = [c for c in self.columns if c.md]
        lines = [f"{'#' * heading_level} {md_escape(self.title)}", ""]
        if self.caption:
            lines += [md_escape(self.caption), ""]
        if not self.rows:
            return "\n".join(lines + ["(none)", ""])
        group_of = self._group_labels()
        lines.append("| " + " | ".join(md_escape((f"{group_of[c.key]}: " if group_of.get(c.key) else "") + c.title
                                                 + (f" ({c.unit})" if c.unit else "")) for c in cols) + " |")
        lines.append("|" + "|".join("---:" if c.numeric else "---" for c in cols) + "|")
        used: dict[str, Flag] = {}
        for r in self.rows:
            cells = []
            for c in cols:
                text = md_escape(c.fmt(c.value(r.data)))
                fl = r.flags_for(c)
                for f in fl:
                    used.setdefault(f.code, f)
                if fl:
                    text += " " + " ".join(f"\u26a0{f.code}" for f in _unique_codes(fl))
                cells.append(text)
            lines.append("| " + " | ".join(cells) + " |")
        if used:
            lines += ["", "Flags: " + "; ".join(f"\u26a0{code} = {md_escape(f.label)}" for code, f in sorted(used.items()))]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        cols = [c for c in self.columns if c.csv]
        intervals = {c.key for c in cols if _is_interval(c, self.rows)}
        header: list[str] = []
        for c in cols:
            if c.key in intervals:
                header += [f"{c.key}_low", f"{c.key}_high"]
            else:
                header.append(c.key)
        header.append("flags")
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([neutralize(h) for h in header])  # device columns are named after stored text
        for r in self.rows:
            out: list[object] = []
            for c in cols:
                v = c.value(r.data)
                if c.key in intervals:
                    pair = cast("tuple[object, object] | None", v)  # _is_interval: a (low, high) pair
                    out += ["", ""] if pair is None else [_csv_value(pair[0]), _csv_value(pair[1])]
                elif c.csv_value is not None and v is not None:
                    out.append(_csv_value(c.csv_value(v)))
                else:
                    out.append(_csv_value(v))
            out.append("; ".join(f"{f.code}: {f.detail}" for f in r.all_flags()))
            w.writerow([_csv_safe(neutralize(x)) if isinstance(x, str) else x for x in out])
        return buf.getvalue()


def _unique_codes(flags: Iterable[Flag]) -> list[Flag]:
    seen: dict[str, Flag] = {}
    for f in flags:
        seen.setdefault(f.code, f)
    return list(seen.values())


def _is_interval(c: Column, rows: list[Row]) -> bool:
    """A column whose values are (low, high) pairs: two CSV columns, <key>_low and <key>_high."""
    return c.csv_value is None and any(isinstance(c.value(r.data), tuple) for r in rows)


def sort_key(v: object) -> str:
    """What the page's script sorts a numeric column by (the cell's data-sort)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(float(v))
    if isinstance(v, tuple):
        return sort_key(v[0])
    return str(v)


def _csv_value(v: object) -> object:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v)
    return v


def _csv_safe(v: str) -> str:
    # A text cell starting with = + - @ is run as a formula by spreadsheets (CSV injection);
    # model names and error messages come from results files, so neutralise them. Numbers
    # (already str via repr above, e.g. "-1.5") are left alone.
    if v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(v)
            return v
        except ValueError:
            return "'" + v
    return v


def md_escape(text: str) -> str:
    """Stored text as inert Markdown: control and bidi characters as visible escapes
    (neutralize), pipes would split a table cell, HTML and entities (`&#x202e;`) would be
    rendered by most viewers, and brackets would make links (`[x](javascript:...)`)."""
    text = neutralize(str(text).replace("\r\n", " ").replace("\n", " ").replace("\t", " "), keep="")
    return (text.replace("\\", "\\\\").replace("&", "&amp;").replace("|", "\\|").replace("<", "&lt;")
            .replace(">", "&gt;").replace("[", "\\[").replace("]", "\\]"))
