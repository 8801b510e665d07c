"""Tables: one typed model per table, rendered to HTML (by the template), Markdown and CSV.

A table holds raw values; formatting happens per output. HTML and Markdown get rounded,
human figures with the flags beside the numbers they qualify; CSV gets the raw values (full
precision, machine-friendly column names with units) so a spreadsheet can recompute anything.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from suite.report.flags import ENERGY, LATENCY, RATIO, STATUS, Flag, worst_severity
from suite.report.format import (
    DASH,
    fmt_bytes,
    fmt_count,
    fmt_ms,
    fmt_p,
    fmt_ratio,
    fmt_si,
    fmt_size,
    sig,
    slug,
)
from suite.report.backends import BASELINE_BACKEND, backend_order
from suite.report.merge import ComparisonView, Entry, ReportData

FlagMap = dict[str, list[Flag]]


def _text(v: Any) -> str:
    if v is None or v == "":
        return DASH
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return sig(v, 3)
    return str(v)


def _interval(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    def f(v: Any) -> str:
        if v is None:
            return DASH
        lo, hi = v
        return f"[{fmt(lo)}, {fmt(hi)}]"

    return f


@dataclass(frozen=True)
class Column:
    key: str  # CSV header: snake_case with the unit
    title: str
    unit: str = ""
    numeric: bool = False
    fmt: Callable[[Any], str] = _text
    slot: str | None = None  # which flags show beside this column's numbers
    help: str = ""
    html: bool = True
    md: bool = True
    csv: bool = True
    nowrap: bool = False
    measure: bool = False  # a measured number: struck through when its case failed the parity check
    csv_value: Callable[[Any], Any] | None = None  # what the CSV gets instead of the raw value


@dataclass
class Row:
    values: dict[str, Any]
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
class Table:
    name: str  # file stem for the CSV/Markdown
    title: str
    columns: list[Column]
    rows: list[Row]
    caption: str = ""
    groups: list[tuple[str, int]] | None = None  # header groups (label, number of columns)

    @property
    def html_columns(self) -> list[Column]:
        return [c for c in self.columns if c.html]

    def cells(self, row: Row) -> list[Cell]:
        out = []
        for c in self.html_columns:
            v = row.values.get(c.key)
            text = c.fmt(v)
            flags = row.flags_for(c)
            sev = worst_severity(flags)
            # "parity failed" beside the status "parity failed" (or "estimated" beside the method
            # "estimated (...)") says it twice: keep the colour only.
            flags = [f for f in flags if not text.startswith(f.label)]
            # A parity failure strikes the measured numbers through: they are the speed of a wrong model.
            struck = (c.measure and v is not None
                      and any(f.kind == "parity_failed" for f in row.flags + row.cell_flags.get(c.key, [])))
            css = " ".join(x for x in ("num" if c.numeric else "", "nowrap" if c.nowrap else "",
                                       f"cell-{sev}" if sev else "", "struck" if struck else "") if x)
            out.append(Cell(text=text, sort=_sort_key(v), numeric=c.numeric, flags=flags,
                            href=row.links.get(c.key), title=row.titles.get(c.key), css=css))
        return out

    def html_rows(self) -> list[tuple[Row, list[Cell]]]:
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
                text = md_escape(c.fmt(r.values.get(c.key)))
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
        w.writerow(header)
        for r in self.rows:
            out: list[Any] = []
            for c in cols:
                v = r.values.get(c.key)
                if c.key in intervals:
                    out += ["", ""] if v is None else [_csv_value(v[0]), _csv_value(v[1])]
                elif c.csv_value is not None and v is not None:
                    out.append(_csv_value(c.csv_value(v)))
                else:
                    out.append(_csv_value(v))
            out.append("; ".join(f"{f.code}: {f.detail}" for f in r.all_flags()))
            w.writerow([_csv_safe(x) for x in out])
        return buf.getvalue()


def _unique_codes(flags: Iterable[Flag]) -> list[Flag]:
    seen: dict[str, Flag] = {}
    for f in flags:
        seen.setdefault(f.code, f)
    return list(seen.values())


def _is_interval(c: Column, rows: list[Row]) -> bool:
    return c.csv_value is None and any(isinstance(r.values.get(c.key), tuple) for r in rows)


def _sort_key(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (int, float)):
        return repr(float(v))
    if isinstance(v, tuple):
        return _sort_key(v[0])
    return str(v)


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "; ".join(str(x) for x in v)
    return v


def _csv_safe(v: Any) -> Any:
    # A text cell starting with = + - @ is run as a formula by spreadsheets (CSV injection);
    # model names and error messages come from results files, so neutralise them. Numbers
    # (already str via repr above, e.g. "-1.5") are left alone.
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(v)
            return v
        except ValueError:
            return "'" + v
    return v


def md_escape(text: str) -> str:
    """Markdown table cell: pipes would split the cell, HTML would be rendered by most viewers."""
    return (text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")
            .replace("\n", " "))


# ----------------------------------------------------------------------------- helpers


def _pkg(env, name: str) -> str | None:
    return env.packages.get(name)


def case_label(e: Entry) -> str:
    s = e.spec
    size = f" \u00b7 {fmt_size(s.size_axis, s.input_size)}" if s.input_size is not None else ""
    return f"{s.model} \u00b7 {s.backend} \u00b7 batch {s.batch_size}{size}"


def energy_method(e: Entry) -> str | None:
    en = e.case.energy
    if en is None:
        return None
    rate = f", {sig(en.sample_rate_hz, 3)} Hz" if en.sample_rate_hz else ""
    return f"{en.method} ({en.meter}{rate})"


# ----------------------------------------------------------------------------- tables


def devices_table(data: ReportData) -> Table:
    cols = [
        Column("device", "Device", nowrap=True),
        Column("board", "Board"),
        Column("cpu", "CPU"),
        Column("cores", "Cores", help="physical / logical"),
        Column("cpu_max_mhz", "Max clock", "MHz", numeric=True, fmt=lambda v: DASH if v is None else f"{v:,.0f}"),
        Column("ram_bytes", "RAM", numeric=True, fmt=fmt_bytes),
        Column("accelerators", "Accelerators"),
        Column("platform", "Platform"),
        Column("power_mode", "Power mode", help="Jetson nvpmodel mode"),
        Column("governor", "Governor", help="CPU frequency governor"),
        Column("os", "OS"),
        Column("kernel", "Kernel"),
        Column("python", "Python"),
        Column("torch", "torch"),
        Column("onnxruntime", "onnxruntime"),
        Column("in_container", "Container", fmt=_text),
        Column("hostname", "Hostname"),
        Column("runs", "Runs", numeric=True),
        Column("cases", "Cases", numeric=True),
    ]
    rows = []
    for d in data.devices:
        env = d.env
        cores = None
        if env.cores_physical or env.cores_logical:
            cores = f"{env.cores_physical or '?'} / {env.cores_logical or '?'}"
        rows.append(Row(
            values={
                "device": d.label, "board": env.device_model, "cpu": env.cpu_model, "cores": cores,
                "cpu_max_mhz": env.cpu_max_mhz, "ram_bytes": env.ram_bytes,
                "accelerators": ", ".join(env.accelerators) or None, "platform": env.platform,
                "power_mode": env.jetson_power_mode, "governor": env.governor, "os": env.os,
                "kernel": env.kernel, "python": env.python or None, "torch": _pkg(env, "torch"),
                "onnxruntime": _pkg(env, "onnxruntime"), "in_container": env.in_container,
                "hostname": env.hostname, "runs": len(d.runs),
                "cases": sum(len(r.run.cases) for r in d.runs),
            },
            anchor=d.anchor,
        ))
    return Table("devices", "Devices", cols, rows,
                 caption="Each device is identified by hostname, CPU model and board model; software versions are from its newest run.")


def runs_table(data: ReportData) -> Table:
    cols = [
        Column("source", "Results file"),
        Column("run_id", "Run id", nowrap=True),
        Column("device", "Device", nowrap=True),
        Column("created_at", "Started (UTC)", nowrap=True),
        Column("suite_version", "bench"),
        Column("cases", "Cases", numeric=True),
        Column("ok", "OK", numeric=True),
        Column("failed", "Failed", numeric=True, slot=STATUS),
        Column("parity_failed", "Parity failed", numeric=True, slot=STATUS),
        Column("interrupted", "Interrupted"),
        Column("command", "Command"),
    ]
    rows = []
    for r in data.runs:
        cases = r.run.cases
        rows.append(Row(values={
            "source": r.source, "run_id": r.run.run_id, "device": r.device.label if r.device else None,
            "created_at": r.run.created_at.strftime("%Y-%m-%d %H:%M"), "suite_version": r.run.suite_version,
            "cases": len(cases), "ok": sum(c.status == "ok" for c in cases),
            "failed": sum(c.status == "failed" for c in cases),
            "parity_failed": sum(c.status == "parity_failed" for c in cases),
            "interrupted": r.run.interrupted, "command": " ".join(r.run.command) or None,
        }, links={"device": f"#{r.device.anchor}"} if r.device else {}))
    return Table("runs", "What ran", cols, rows)


def models_table(data: ReportData) -> Table:
    cols = [
        Column("model", "Model", nowrap=True),
        Column("source", "Source"),
        Column("modality", "Modality"),
        Column("params_unique", "Params (unique)", numeric=True, fmt=fmt_count,
               help="parameters stored (shared tensors counted once)"),
        Column("params_effective", "Params (effective)", numeric=True, fmt=fmt_count,
               help="each module call counted: a layer used 12 times counts 12 times"),
        Column("reference_size", "At size", fmt=lambda v: v or DASH),
        Column("macs_per_item", "MACs / item", numeric=True, fmt=fmt_count),
        Column("flops_per_item", "FLOPs / item", numeric=True, fmt=fmt_count, help="2 x MACs"),
        Column("batches", "Batches"),
        Column("sizes", "Input sizes"),
        Column("backends", "Backends"),
        Column("devices", "Devices", numeric=True),
        Column("cases_ok", "Cases OK", numeric=True),
        Column("cases", "Cases", numeric=True),
    ]
    rows = []
    for m in data.models:
        p = m.params
        ref = m.reference_size
        fl = None
        for e in m.entries:
            if e.case.flops is not None and e.spec.input_size == ref:
                fl = e.case.flops
                break
        macs_item = None
        if fl is not None:
            macs_item = fl.macs / fl.flops * fl.flops_per_item if fl.flops else None
        rows.append(Row(values={
            "model": m.name, "source": m.source, "modality": m.modality,
            "params_unique": p.unique if p else None, "params_effective": p.effective if p else None,
            "reference_size": fmt_size(m.size_axis, ref) if ref is not None else None,
            "macs_per_item": round(macs_item) if macs_item is not None else None,
            "flops_per_item": fl.flops_per_item if fl else None,
            "batches": ", ".join(str(b) for b in m.batches),
            "sizes": ", ".join(fmt_size(None, s) for s in m.sizes if s is not None) or None,
            "backends": ", ".join(m.backends),
            "devices": len({id(e.device) for e in m.entries}),
            "cases_ok": sum(e.status == "ok" for e in m.entries), "cases": len(m.entries),
        }, links={"model": f"#{m.anchor}"}))
    return Table("models", "Models", cols, rows,
                 caption="Parameters from the model as built; FLOPs counted by torch.utils.flop_counter for one item at the size shown.")


def cases_table(entries: list[Entry], flags: FlagMap, *, include_model: bool = True, name: str = "cases",
                title: str = "All cases") -> Table:
    has_acc = any(e.case.accuracy is not None for e in entries)
    cols = [
        Column("model", "Model", nowrap=True, md=include_model, html=include_model),
        Column("device", "Device", nowrap=True),
        Column("backend", "Backend"),
        Column("batch_size", "Batch", numeric=True),
        Column("input_size", "Size", numeric=True, fmt=lambda v: DASH if v is None else fmt_size(None, v)),
        Column("size_axis", "Size axis", html=False, md=False),
        Column("threads", "Threads", numeric=True, html=False, md=False),
        Column("status", "Status", slot=STATUS, nowrap=True),
        Column("median_ms", "Median", "ms", numeric=True, fmt=fmt_ms, slot=LATENCY, nowrap=True, measure=True),
        Column("median_ci_ms", "95% CI", "ms", numeric=True, fmt=_interval(fmt_ms), nowrap=True,
               help="distribution-free confidence interval of the median", measure=True),
        Column("p90_ms", "p90", "ms", numeric=True, fmt=fmt_ms, measure=True),
        Column("p99_ms", "p99", "ms", numeric=True, fmt=fmt_ms, measure=True),
        Column("samples", "n", numeric=True, help="timed samples (warm-up excluded)"),
        Column("throughput_items_s", "Throughput", "items/s", numeric=True, fmt=lambda v: fmt_si(v), measure=True),
        Column("rss_peak_bytes", "Peak RSS", numeric=True, fmt=fmt_bytes, help="peak resident memory of the process", measure=True),
        Column("model_bytes", "Model memory", numeric=True, fmt=fmt_bytes, md=False, measure=True),
        Column("energy_gross_j", "Energy gross", "J/inf", numeric=True, fmt=lambda v: fmt_si(v, "J"), slot=ENERGY,
               nowrap=True, help="energy per inference, everything the meter saw", measure=True),
        Column("energy_net_j", "Energy net", "J/inf", numeric=True, fmt=lambda v: fmt_si(v, "J"), slot=ENERGY,
               nowrap=True, help="energy per inference above idle power", measure=True),
        Column("energy_method", "Energy method", slot=ENERGY),
        Column("carbon_g_per_million", "CO\u2082e", "g/1M inf", numeric=True, fmt=lambda v: fmt_si(v, "g"),
               slot=ENERGY, help="grams CO2-equivalent per million inferences", measure=True),
        Column("achieved_flops_s", "Achieved", "FLOP/s", numeric=True, fmt=lambda v: fmt_si(v, "FLOP/s"), measure=True),
    ]
    if has_acc:
        cols.append(Column("accuracy", "Accuracy", numeric=True, fmt=_text))
    rows = []
    for e in entries:
        s = e.summary
        c = e.case
        en = c.energy
        status = c.status.replace("_", " ")
        titles = {}
        if c.error is not None:
            titles["status"] = f"{c.error.kind}: {c.error.message}"
        if s is not None:
            titles["median_ms"] = f"mean {fmt_ms(s.mean_ms)} ms, std {fmt_ms(s.std_ms)} ms, CV {s.cv:.1%}"
        rows.append(Row(
            values={
                "model": e.model, "device": e.device.label, "backend": e.backend,
                "batch_size": e.spec.batch_size, "input_size": e.spec.input_size, "size_axis": e.spec.size_axis,
                "threads": e.spec.threads, "status": status,
                "median_ms": s.median_ms if s else None,
                "median_ci_ms": (s.median_ci_low_ms, s.median_ci_high_ms) if s else None,
                "p90_ms": s.p90_ms if s else None, "p99_ms": s.p99_ms if s else None,
                "samples": s.n if s else None,
                "throughput_items_s": s.throughput_items_s if s else None,
                "rss_peak_bytes": c.memory.rss_peak_bytes if c.memory else None,
                "model_bytes": c.memory.model_bytes if c.memory else None,
                "energy_gross_j": en.gross_j_per_inference if en else None,
                "energy_net_j": en.net_j_per_inference if en else None,
                "energy_method": energy_method(e),
                "carbon_g_per_million": c.carbon.g_per_million if c.carbon else None,
                "achieved_flops_s": e.achieved_flops_s,
                "accuracy": (f"{c.accuracy.value:g} {c.accuracy.metric}" if c.accuracy else None),
            },
            flags=flags.get(e.uid, []),
            links={"model": f"#{slug(e.model, 'model-')}", "device": f"#{e.device.anchor}"},
            titles=titles,
            anchor=e.uid,
            css=f"status-{c.status}",
        ))
    return Table(name, title, cols, rows)


def matrix_table(data: ReportData, flags: FlagMap) -> Table:
    """model x batch x size rows; per device: median per backend and the backend/eager ratio."""
    matrix = data.matrix()
    backends = sorted({e.backend for e in data.entries}, key=backend_order)
    others = [b for b in backends if b != BASELINE_BACKEND]
    cols = [
        Column("model", "Model", nowrap=True),
        Column("batch_size", "Batch", numeric=True),
        Column("input_size", "Size", numeric=True, fmt=lambda v: DASH if v is None else fmt_size(None, v)),
    ]
    groups: list[tuple[str, int]] = [("", 3)]
    # CSV columns name the device: d0_core_i7_1165g7_ort_median_ms (the index keeps them unique)
    dev_keys = [f"d{di}_" + (re.sub(r"[^a-z0-9]+", "_", d.label.lower()).strip("_")[:32] or "device")
                for di, d in enumerate(data.devices)]
    for di, d in enumerate(data.devices):
        n = 0
        for b in backends:
            cols.append(Column(f"{dev_keys[di]}_{b}_median_ms", b, "ms", numeric=True, fmt=fmt_ms, nowrap=True,
                               measure=True,
                               help=f"median latency on {d.label} with {b}"))
            n += 1
        if BASELINE_BACKEND in backends:
            for b in others:
                cols.append(Column(f"{dev_keys[di]}_{b}_ratio", f"{b}/{BASELINE_BACKEND}", numeric=True, measure=True,
                                   fmt=_ratio_text, csv_value=_bare_ratio, nowrap=True,
                                   help=f"{b} median / {BASELINE_BACKEND} median on {d.label}; "
                                        "< 1 means faster. (sig.) = the 95% CI excludes 1 and Mann-Whitney p < 0.05"))
                cols.append(Column(f"{dev_keys[di]}_{b}_significant", f"{b} significant", html=False, md=False))
                cols.append(Column(f"{dev_keys[di]}_{b}_p_value", f"{b} p", html=False, md=False))
                n += 1
        groups.append((d.label, n))
    rows = []
    for key, cells in matrix.items():
        model, batch, _axis, size = key
        values: dict[str, Any] = {"model": model, "batch_size": batch, "input_size": size}
        cell_flags: dict[str, list[Flag]] = {}
        titles: dict[str, str] = {}
        links: dict[str, str] = {"model": f"#{slug(model, 'model-')}"}
        for di, d in enumerate(data.devices):
            picked: dict[str, Entry] = {}
            for b in backends:
                es = cells.get((di, b), [])
                if not es:
                    continue
                e = es[0]  # newest run on this device
                picked[b] = e
                col = f"{dev_keys[di]}_{b}_median_ms"
                values[col] = e.median_ms
                fl = [f for f in flags.get(e.uid, []) if f.applies(LATENCY) or f.applies(STATUS)]
                cell_flags[col] = fl
                links[col] = f"#{e.uid}"
                if e.summary is not None:
                    titles[col] = (f"95% CI [{fmt_ms(e.summary.median_ci_low_ms)}, "
                                   f"{fmt_ms(e.summary.median_ci_high_ms)}] ms, n={e.summary.n}")
                elif e.case.error is not None:
                    titles[col] = f"{e.case.error.kind}: {e.case.error.message}"
                if len(es) > 1:
                    titles[col] = titles.get(col, "") + f" (newest of {len(es)} runs on this device)"
            base = picked.get(BASELINE_BACKEND)
            for b in others:
                cand = picked.get(b)
                if base is None or cand is None:
                    continue
                cv = data.comparison_for(base, cand)
                if cv is None:
                    continue
                comp = cv.comparison
                col = f"{dev_keys[di]}_{b}_ratio"
                values[col] = (comp.ratio, comp.significant)
                values[f"{dev_keys[di]}_{b}_significant"] = comp.significant
                values[f"{dev_keys[di]}_{b}_p_value"] = comp.p_value
                titles[col] = (f"{comp.ratio:.3f} [{comp.ci_low:.3f}, {comp.ci_high:.3f}] "
                               f"({comp.ci_level:.0%} CI), p = {fmt_p(comp.p_value)}"
                               + (" (computed by the report)" if cv.computed else ""))
                cell_flags[col] = comparison_flags(cv, flags)
                links[col] = f"#{cand.uid}"
        rows.append(Row(values=values, cell_flags=cell_flags, titles=titles, links=links))
    return Table("matrix", "Cross-hardware matrix", cols, rows, groups=groups,
                        caption="Median latency per device and backend, and the backend/eager ratio of medians "
                                "(< 1: faster than eager).")


# A matrix ratio cell holds (ratio, significant): the text shows both, the CSV the bare ratio
# (significance has its own CSV column).
def _ratio_text(v: Any) -> str:
    if v is None:
        return DASH
    ratio, significant = v
    return f"{fmt_ratio(ratio)} {'(sig.)' if significant else '(n.s.)'}"


def _bare_ratio(v: tuple[float, bool]) -> float:
    return v[0]


def comparison_flags(cv: ComparisonView, flags: FlagMap) -> list[Flag]:
    out: list[Flag] = []
    for e in (cv.baseline, cv.candidate):
        if e is None:
            continue
        out += [f for f in flags.get(e.uid, []) if f.applies(RATIO) and f not in out]
    for text in cv.comparison.flags:
        # Comparisons store a parity note (suite.comparisons.parity_flag; older files word it
        # differently): the candidate's own parity flag, already in `out`, says it with the figures.
        if any(f.kind == "parity_failed" for f in out) and "parity" in text.lower():
            continue
        out.append(Flag("comparison", "CMP", "note", text, "warn", frozenset({RATIO})))
    return out


def comparisons_table(data: ReportData, flags: FlagMap) -> Table:
    cols = [
        Column("device", "Device", nowrap=True),
        Column("model", "Model", nowrap=True),
        Column("batch_size", "Batch", numeric=True),
        Column("input_size", "Size", numeric=True, fmt=lambda v: DASH if v is None else fmt_size(None, v)),
        Column("baseline", "Baseline"),
        Column("candidate", "Candidate"),
        Column("baseline_median_ms", "Baseline median", "ms", numeric=True, fmt=fmt_ms),
        Column("candidate_median_ms", "Candidate median", "ms", numeric=True, fmt=fmt_ms),
        Column("ratio", "Ratio", numeric=True, fmt=fmt_ratio, slot=RATIO, nowrap=True, measure=True,
               help="candidate median / baseline median"),
        Column("ratio_ci", "95% CI", numeric=True, fmt=_interval(lambda x: f"{x:.2f}"), nowrap=True),
        Column("p_value", "p", numeric=True, fmt=fmt_p, help="two-sided Mann-Whitney U"),
        Column("significant", "Significant", fmt=_text),
        Column("origin", "Origin", help="stored by the run, or computed by the report from the samples"),
    ]
    rows = []
    for cv in sorted(data.comparisons, key=lambda cv: (cv.comparison.model.lower(), cv.device.label,
                                                       cv.comparison.input_size or 0, cv.comparison.batch_size,
                                                       backend_order(cv.comparison.candidate_backend))):
        c = cv.comparison
        rows.append(Row(values={
            "device": cv.device.label, "model": c.model, "batch_size": c.batch_size, "input_size": c.input_size,
            "baseline": c.baseline_backend, "candidate": c.candidate_backend,
            "baseline_median_ms": cv.baseline.median_ms if cv.baseline else None,
            "candidate_median_ms": cv.candidate.median_ms if cv.candidate else None,
            "ratio": c.ratio, "ratio_ci": (c.ci_low, c.ci_high), "p_value": c.p_value,
            "significant": c.significant, "origin": "computed" if cv.computed else "stored",
        }, cell_flags={"ratio": comparison_flags(cv, flags)},
            links={"device": f"#{cv.device.anchor}", "model": f"#{slug(c.model, 'model-')}"}))
    return Table("comparisons", "Backend comparisons", cols, rows,
                 caption="Ratio of medians with a percentile-bootstrap confidence interval; significant when the "
                         "interval excludes 1 and the Mann-Whitney test agrees (p < 0.05).")


_SEVERITY_WORDS = {"bad": "do not trust", "warn": "read with care", "info": "note"}


def flags_table(data: ReportData, flags: FlagMap) -> Table:
    """One row per flag, except that identical flags on one device (every case of a Pi without a
    power sensor is "estimated") are folded into one row that counts them."""
    cols = [
        Column("severity", "Severity", nowrap=True),
        Column("flag", "Flag", nowrap=True),
        Column("device", "Device", nowrap=True),
        Column("detail", "Detail"),
        Column("count", "Cases", numeric=True),
        Column("case", "Case"),
    ]
    order = {"bad": 0, "warn": 1, "info": 2}
    groups: dict[tuple, list[tuple[Flag, Entry]]] = {}
    for e in data.entries:
        for f in flags.get(e.uid, []):
            groups.setdefault((f.severity, f.kind, id(e.device), f.detail), []).append((f, e))
    items = sorted(groups.values(), key=lambda fes: (order[fes[0][0].severity], fes[0][0].kind,
                                                      fes[0][1].device.label, fes[0][1].model.lower()))
    rows = []
    for fes in items:
        f, e = fes[0]
        case = case_label(e) if len(fes) == 1 else f"{case_label(e)} and {len(fes) - 1} more"
        rows.append(Row(values={"severity": _SEVERITY_WORDS[f.severity], "flag": f.label, "device": e.device.label,
                                "count": len(fes), "case": case, "detail": f.detail},
                        links={"case": f"#{e.uid}", "device": f"#{e.device.anchor}"}, css=f"sev-{f.severity}"))
    return Table("flags", "Flags", cols, rows,
                 caption="Every reason to read a number with care, also shown beside the number it qualifies.")


def failures_table(data: ReportData) -> Table:
    cols = [
        Column("device", "Device", nowrap=True),
        Column("case", "Case"),
        Column("status", "Status", nowrap=True),
        Column("kind", "Error kind"),
        Column("message", "Message"),
    ]
    rows = []
    for e in data.entries:
        if e.status not in ("failed", "parity_failed"):
            continue
        err = e.case.error
        rows.append(Row(values={"device": e.device.label, "case": case_label(e), "status": e.status.replace("_", " "),
                                "kind": err.kind if err else None, "message": err.message if err else None},
                        links={"case": f"#{e.uid}", "device": f"#{e.device.anchor}"}))
    return Table("failures", "Failed cases", cols, rows)


# ----------------------------------------------------------------------------- all tables


@dataclass
class ModelSection:
    model: Any  # ModelInfo
    cases: Table


@dataclass
class ReportTables:
    devices: Table
    runs: Table
    models: Table
    matrix: Table
    comparisons: Table
    cases: Table  # every case (CSV); the HTML and Markdown show it per model
    flags: Table
    failures: Table
    sections: list[ModelSection]

    def files(self) -> list[Table]:
        """The tables written as CSV / Markdown files, in reading order."""
        return [self.devices, self.runs, self.models, self.matrix, self.comparisons, self.cases, self.flags,
                self.failures]


def build_tables(data: ReportData, flags: FlagMap) -> ReportTables:
    sections = [
        ModelSection(model=m,
                     cases=cases_table(m.entries, flags, include_model=False, name=f"cases-{m.anchor}",
                                       title=f"Cases of {m.name}"))
        for m in data.models
    ]
    return ReportTables(
        devices=devices_table(data), runs=runs_table(data), models=models_table(data),
        matrix=matrix_table(data, flags), comparisons=comparisons_table(data, flags),
        cases=cases_table(data.entries, flags), flags=flags_table(data, flags), failures=failures_table(data),
        sections=sections,
    )
