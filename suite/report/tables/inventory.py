"""What ran where: the devices, runs (results files) and models tables."""

from __future__ import annotations

from dataclasses import dataclass

from suite.report.badges import STATUS
from suite.report.format import DASH, fmt_bytes, fmt_count, fmt_size
from suite.report.merge import ReportData
from suite.report.table import Column, Row, Table
from suite.results.fairness import judge


@dataclass(frozen=True)
class DeviceRow:
    device: str
    board: str | None
    cpu: str
    cores: str | None  # "physical / logical"
    cpu_max_mhz: float | None
    ram_bytes: int | None
    accelerators: str | None
    platform: str
    power_mode: str | None
    governor: str | None
    os: str
    kernel: str
    python: str | None
    torch: str | None
    onnxruntime: str | None
    executorch: str | None
    openvino: str | None
    in_container: bool
    emulation: str | None
    fairness: str
    hostname: str
    runs: int
    cases: int


NOT_AUDITED = "not audited (bench audit)"


def devices_table(data: ReportData) -> Table[DeviceRow]:
    cols: list[Column[DeviceRow]] = [
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
        Column("executorch", "ExecuTorch"),
        Column("openvino", "OpenVINO"),
        Column("in_container", "Container"),
        Column("emulation", "Emulated", help="CPU emulation the runs executed under: their timings are not representative"),
        Column("fairness", "Fairness audit", help="bench audit on this device: does timing the backends interleaved in "
                                                  "one worker change what each measures alone and in a bare loop?"),
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
            DeviceRow(
                device=d.label, board=env.device_model, cpu=env.cpu_model, cores=cores,
                cpu_max_mhz=env.cpu_max_mhz, ram_bytes=env.ram_bytes,
                accelerators=", ".join(env.accelerators) or None, platform=env.platform,
                power_mode=env.jetson_power_mode, governor=env.governor, os=env.os,
                kernel=env.kernel, python=env.python or None, torch=env.packages.get("torch"),
                onnxruntime=env.packages.get("onnxruntime"), executorch=env.packages.get("executorch"),
                openvino=env.packages.get("openvino"), in_container=env.in_container,
                emulation=env.emulation, fairness=judge(env.fairness).summary if env.fairness else NOT_AUDITED,
                hostname=env.hostname, runs=len(d.runs),
                cases=sum(len(r.run.cases) for r in d.runs),
            ),
            anchor=d.anchor,
        ))
    return Table("devices", "Devices", cols, rows,
                 caption="Each device is identified by hostname, CPU model and board model; software versions are from its newest run.")


@dataclass(frozen=True)
class RunRow:
    source: str
    run_id: str
    device: str | None
    created_at: str  # "YYYY-MM-DD HH:MM" (UTC)
    suite_version: str
    cases: int
    ok: int
    failed: int
    parity_failed: int
    interrupted: bool
    command: str | None


def runs_table(data: ReportData) -> Table[RunRow]:
    cols: list[Column[RunRow]] = [
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
        rows.append(Row(RunRow(
            source=r.source, run_id=r.run.run_id, device=r.device.label if r.device else None,
            created_at=r.run.created_at.strftime("%Y-%m-%d %H:%M"), suite_version=r.run.suite_version,
            cases=len(cases), ok=sum(c.status == "ok" for c in cases),
            failed=sum(c.status == "failed" for c in cases),
            parity_failed=sum(c.status == "parity_failed" for c in cases),
            interrupted=r.run.interrupted, command=" ".join(r.run.command) or None,
        ), links={"device": f"#{r.device.anchor}"} if r.device else {}))
    return Table("runs", "What ran", cols, rows)


@dataclass(frozen=True)
class ModelRow:
    model: str
    source: str
    modality: str
    params_unique: int | None
    params_effective: int | None
    reference_size: str | None  # the size the FLOPs are for, as text ("224 (resolution)")
    macs_per_item: int | None
    flops_per_item: int | None
    batches: str
    sizes: str | None
    backends: str
    devices: int
    cases_ok: int
    cases: int


def models_table(data: ReportData) -> Table[ModelRow]:
    cols: list[Column[ModelRow]] = [
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
        rows.append(Row(ModelRow(
            model=m.name, source=m.source, modality=m.modality,
            params_unique=p.unique if p else None, params_effective=p.effective if p else None,
            reference_size=fmt_size(m.size_axis, ref) if ref is not None else None,
            macs_per_item=round(macs_item) if macs_item is not None else None,
            flops_per_item=fl.flops_per_item if fl else None,
            batches=", ".join(str(b) for b in m.batches),
            sizes=", ".join(fmt_size(None, s) for s in m.sizes if s is not None) or None,
            backends=", ".join(m.backends),
            devices=len({id(e.device) for e in m.entries}),
            cases_ok=sum(e.status == "ok" for e in m.entries), cases=len(m.entries),
        ), links={"model": f"#{m.anchor}"}))
    return Table("models", "Models", cols, rows,
                 caption="Parameters from the model as built; FLOPs counted by torch.utils.flop_counter for one item at the size shown.")
