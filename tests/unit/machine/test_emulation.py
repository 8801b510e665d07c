"""Emulation detection (suite/machine/emulation.py) on fake /proc trees laid out like the real files,
and on this machine for real (native: nothing detected). The real emulated case (an arm64
container under qemu-user) is checked by scripts/verify-arm64.sh."""

from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

import pytest

from suite.machine.emulation import (
    cpuinfo_family,
    detect_emulation,
    machine_family,
    translator,
)
from suite.machine.environment import collect_environment

PROC = Path(__file__).resolve().parents[2] / "fixtures" / "proc"

# What the kernel shows for an arm64 python under qemu-user via binfmt_misc (Debian's
# qemu-user-static registers this interpreter path; the static binary is used without binfmt).
QEMU_BINFMT = "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"


def _tree(root: Path, cpuinfo: str, exe: str | None) -> Path:
    (root / "proc/thread-self").mkdir(parents=True)
    shutil.copy(PROC / cpuinfo, root / "proc/cpuinfo")
    if exe is not None:
        os.symlink(exe, root / "proc/thread-self/exe")  # dangling, like the kernel's link seen from a container
    return root


def test_arm64_python_under_qemu_on_x86(tmp_path):
    root = _tree(tmp_path, "cpuinfo-x86-vm", QEMU_BINFMT)
    emu = detect_emulation("aarch64", root)
    assert emu is not None
    assert emu.translator == QEMU_BINFMT
    assert emu.cpu_family == "x86"
    text = emu.describe()
    assert QEMU_BINFMT in text and "x86 CPU" in text and "aarch64" in text


def test_each_sign_alone_is_enough(tmp_path):
    # A qemu that fakes /proc/cpuinfo (newer releases do for some targets): the translator remains.
    only_exe = _tree(tmp_path / "a", "cpuinfo-rpi5", "/usr/bin/qemu-aarch64-static")
    emu = detect_emulation("aarch64", only_exe)
    assert emu is not None and emu.translator == "/usr/bin/qemu-aarch64-static" and emu.cpu_family is None
    # A translator whose path says nothing (renamed binary): the CPU description remains.
    only_cpu = _tree(tmp_path / "b", "cpuinfo-x86-vm", "/opt/emu/run-arm")
    emu = detect_emulation("aarch64", only_cpu)
    assert emu is not None and emu.translator is None and emu.cpu_family == "x86"


@pytest.mark.parametrize("cpuinfo", ["cpuinfo-rpi5", "cpuinfo-jetson-orin"])
def test_a_real_arm_board_is_native(tmp_path, cpuinfo):
    root = _tree(tmp_path, cpuinfo, "/usr/bin/python3.11")
    assert detect_emulation("aarch64", root) is None


def test_a_real_x86_machine_is_native(tmp_path):
    root = _tree(tmp_path, "cpuinfo-x86-vm", "/work/main/.venv/bin/python3")
    assert detect_emulation("x86_64", root) is None


def test_unreadable_proc_is_native(tmp_path):
    assert detect_emulation("aarch64", tmp_path) is None  # no /proc at all: nothing to go on


def test_cpuinfo_families_of_the_fixtures():
    assert cpuinfo_family((PROC / "cpuinfo-x86-vm").read_text()) == "x86"
    assert cpuinfo_family((PROC / "cpuinfo-rpi5").read_text()) == "arm"
    assert cpuinfo_family((PROC / "cpuinfo-jetson-orin").read_text()) == "arm"
    assert cpuinfo_family("") is None
    assert machine_family("aarch64") == machine_family("armv7l") == "arm"
    assert machine_family("x86_64") == "x86"


def test_translator_ignores_a_deleted_native_binary(tmp_path):
    root = _tree(tmp_path, "cpuinfo-x86-vm", "/usr/bin/python3.11 (deleted)")
    assert translator(root) is None


def test_this_machine_for_real_is_native():  # the suite runs on Linux: /proc is there
    # The test process runs natively: its thread-self/exe is python and its cpuinfo matches uname.
    assert os.readlink("/proc/thread-self/exe") == os.path.realpath(sys.executable)
    assert detect_emulation(platform.machine()) is None
    assert collect_environment().emulation is None


def test_environment_records_the_emulation(tmp_path, monkeypatch):
    root = _tree(tmp_path, "cpuinfo-x86-vm", QEMU_BINFMT)
    monkeypatch.setattr(platform, "uname", lambda: platform.uname_result("Linux", "h", "6.1", "#1", "aarch64"))
    env = collect_environment(root)
    assert env.machine == "aarch64"
    assert env.emulation is not None and QEMU_BINFMT in env.emulation


# ----------------------------------------------------------------------------- through the runner


def _emulated_env(tmp_path, monkeypatch):
    """The environment collect_environment reads from an arm64-under-qemu /proc tree."""
    import suite.machine.environment as environment
    import suite.run.runner as runner

    root = _tree(tmp_path / "root", "cpuinfo-x86-vm", QEMU_BINFMT)
    real = environment.collect_environment
    monkeypatch.setattr(platform, "uname", lambda: platform.uname_result("Linux", "h", "6.1", "#1", "aarch64"))
    emulated = real(root)
    monkeypatch.undo()
    monkeypatch.setattr(environment, "collect_environment", lambda root="/": emulated)
    monkeypatch.setattr(runner, "collect_environment", lambda root="/": emulated)  # the runner's own name for it
    return emulated


def test_an_emulated_run_flags_every_case_comparison_summary_and_report(tmp_path, monkeypatch, capsys):
    from suite.cli.summary import print_summary
    from suite.config.bench_config import validate_config
    from suite.report.html import render_report as write_report
    from suite.results.io import load_results
    from suite.run.runner import RunOptions, run_benchmark

    env = _emulated_env(tmp_path, monkeypatch)
    model = str(Path(__file__).resolve().parents[2] / "fixtures" / "models" / "crash_tiny.py")
    cfg = validate_config({
        "models": [model], "backends": ["eager", "ort"], "batch_sizes": [1], "threads": 1, "isolation": "inline",
        "output_dir": str(tmp_path / "out"), "report": False, "energy": {"enabled": False},
        "timing": {"warmup_min": 1, "warmup_max": 2, "min_iters": 3, "min_time_s": 0, "max_time_s": 0.05}})
    run_benchmark(cfg, RunOptions(output=tmp_path / "r.json"))
    saved = load_results(tmp_path / "r.json")
    assert saved.environment.emulation == env.emulation and QEMU_BINFMT in saved.environment.emulation
    assert len(saved.cases) == 2
    for c in saved.cases:
        (f,) = [f for f in c.flags if f.kind == "emulated"]
        assert f.severity == "bad" and set(f.metrics) == {"latency", "energy", "ratio"}
    assert saved.comparisons and all(any(f.kind == "emulated" for f in k.flags) for k in saved.comparisons)

    print_summary(saved)
    out = capsys.readouterr().out
    assert "EMULATED:" in out and "not representative" in out
    assert out.count("(EMULATED)") == 3  # both cases' status and the comparison

    # The report: a banner, the device marked, the cases' badges; a native run of the same
    # machine stays a separate device.
    native = saved.model_copy(update={"environment": saved.environment.model_copy(update={"emulation": None}),
                                      "run_id": "native"})
    out_dir = tmp_path / "rep"
    res = write_report([saved, native], out_dir / "report.html", formats=("html", "md"), figures=False)
    assert res.devices == 2
    html = (out_dir / "report.html").read_text()
    assert 'id="emulated"' in html and "1 device ran under emulation" in html
    assert "EPYC (aarch64, emulated)" in html  # the device's name says it (the CPU is the host's)
    assert html.count('">emulated</span>') >= 3  # the badge beside the cases' and the comparison's numbers
    md = (out_dir / "report.md").read_text()
    assert "## Emulated runs: not representative" in md and "EMU" in md


def test_a_native_run_report_has_no_emulation_banner(tmp_path):
    from report_builders import case, run, steady

    from suite.report.html import render_report as write_report

    res = write_report([run([case("m", 1, steady(10.0))])], tmp_path / "report.html", formats=("html",), figures=False)
    assert res.devices == 1
    assert 'id="emulated"' not in (tmp_path / "report.html").read_text()


def test_resume_refuses_to_mix_emulated_and_native(tmp_path):
    from report_builders import env, run

    from suite.errors import BenchError
    from suite.run.resume import check_same_machine

    old = run([], env().model_copy(update={"emulation": "aarch64 code run by qemu"}))
    with pytest.raises(BenchError, match="emulated: True then, False now"):
        check_same_machine(old, env())
    check_same_machine(old, old.environment)  # the same emulated machine resumes
