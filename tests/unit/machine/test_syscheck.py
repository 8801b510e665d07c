"""`bench env --check` on fake sysfs/procfs trees laid out like the real files (a tuned
workstation, and a laptop with everything that hurts timings), and through the installed script."""

from __future__ import annotations

from pathlib import Path

from console_script import installed_bench

from suite.machine.syscheck import system_checks

CPU = "sys/devices/system/cpu"


def _stat(pid: int, name: str, utime: int, stime: int) -> str:
    # /proc/<pid>/stat: pid (comm) state ppid ... utime is field 14, stime field 15
    fields = ["S", "1"] + ["0"] * 9 + [str(utime), str(stime)] + ["0"] * 30
    return f"{pid} ({name}) " + " ".join(fields) + "\n"


def tree(root: Path, *, governor: str | None, no_turbo: str | None, boost: str | None, smt: str | None,
         cores: list[int], swap_kb: tuple[int, int], load: str, procs: dict[int, tuple[str, int]]) -> Path:
    def put(rel: str, text: str) -> None:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)

    put(f"{CPU}/online", f"0-{len(cores) - 1}\n")
    for cpu, core in enumerate(cores):
        put(f"{CPU}/cpu{cpu}/topology/core_id", f"{core}\n")
        put(f"{CPU}/cpu{cpu}/topology/physical_package_id", "0\n")
        if governor is not None:
            put(f"{CPU}/cpu{cpu}/cpufreq/scaling_governor", governor + "\n")
    if no_turbo is not None:
        put(f"{CPU}/intel_pstate/no_turbo", no_turbo + "\n")
    if boost is not None:
        put(f"{CPU}/cpufreq/boost", boost + "\n")
    if smt is not None:
        put(f"{CPU}/smt/active", smt + "\n")
    total, free = swap_kb
    put("proc/meminfo", f"MemTotal:       16303412 kB\nMemFree:         9310628 kB\nSwapCached:            0 kB\n"
                        f"SwapTotal:      {total:>9} kB\nSwapFree:       {free:>9} kB\n")
    put("proc/loadavg", f"{load} 0.80 0.60 3/412 12345\n")
    for pid, (name, ticks) in procs.items():
        put(f"proc/{pid}/stat", _stat(pid, name, ticks, 0))
    return root


def _by_name(checks):
    return {c.name: c for c in checks}


def test_a_tuned_machine_passes_every_check(tmp_path):
    root = tree(tmp_path, governor="performance", no_turbo="1", boost=None, smt="0", cores=[0, 1, 2, 3],
                swap_kb=(0, 0), load="0.05", procs={100: ("sshd", 50)})
    checks = system_checks(root, threads=3, interval_s=0.5, sleep=lambda s: None, ticks_per_s=100)
    assert {c.name: c.state for c in checks} == {
        "CPU governor": "ok", "Turbo boost": "ok", "SMT (hyper-threading)": "ok", "Swap": "ok", "Load": "ok",
        "Busy processes": "ok", "Threads vs CPUs": "ok"}


def test_every_problem_is_named_with_its_fix(tmp_path):
    root = tree(tmp_path, governor="powersave", no_turbo="0", boost=None, smt="1", cores=[0, 1, 0, 1],
                swap_kb=(2097152, 1048576), load="1.75", procs={100: ("sshd", 50), 200: ("ffmpeg", 1000)})

    def sleep(seconds):  # during the interval ffmpeg uses 0.5 s of CPU time (50 ticks at 100 Hz) over 0.5 s
        assert seconds == 0.5
        (root / "proc/200/stat").write_text(_stat(200, "ffmpeg", 1040, 10))
        (root / "proc/100/stat").write_text(_stat(100, "sshd", 51, 0))

    c = _by_name(system_checks(root, interval_s=0.5, sleep=sleep, ticks_per_s=100))
    assert [n for n, x in c.items() if x.state != "warn"] == ["Threads vs CPUs"], c
    assert c["CPU governor"].value.startswith("powersave") and "performance" in c["CPU governor"].fix
    assert "intel_pstate/no_turbo" in c["Turbo boost"].fix
    assert "4 logical CPUs on 2 cores" in c["SMT (hyper-threading)"].value and "smt/control" in c["SMT (hyper-threading)"].fix
    assert c["Swap"].value.startswith("1024 MiB of 2048 MiB in use") and "swapoff" in c["Swap"].fix
    assert c["Load"].value.startswith("1.75")
    # (1040 + 10 - 1000) ticks / 100 Hz / 0.5 s = 100% of a CPU; sshd's 1 tick (2%) is below the bar
    assert c["Busy processes"].value == "ffmpeg (pid 200, 100% of a CPU)"
    # default threads = physical cores (2) on 4 CPUs: room left; 4 threads take every CPU
    assert c["Threads vs CPUs"].value.startswith("2 thread(s) on 4 CPU(s)")
    c4 = _by_name(system_checks(root, threads=4, interval_s=0.5, sleep=lambda s: None, ticks_per_s=100))
    assert c4["Threads vs CPUs"].state == "warn" and "--threads 3" in c4["Threads vs CPUs"].fix


def test_acpi_boost_and_a_vm_without_cpufreq(tmp_path):
    root = tree(tmp_path, governor=None, no_turbo=None, boost="1", smt=None, cores=[0, 1], swap_kb=(0, 0),
                load="0.10", procs={})
    c = _by_name(system_checks(root, interval_s=0.5, sleep=lambda s: None, ticks_per_s=100))
    assert c["CPU governor"].state == "info" and c["Turbo boost"].state == "warn"
    assert "cpufreq/boost" in c["Turbo boost"].fix
    assert c["SMT (hyper-threading)"].state == "info"  # no smt file, one thread per core
    # 2 physical cores on 2 CPUs: the default thread count takes every CPU
    assert c["Threads vs CPUs"].state == "warn" and "--threads 1" in c["Threads vs CPUs"].fix


def test_env_check_through_the_installed_script(tmp_path):
    root = tree(tmp_path, governor="ondemand", no_turbo="0", boost=None, smt="0", cores=[0, 1, 2, 3],
                swap_kb=(0, 0), load="0.02", procs={})
    res = installed_bench("env", "--check", env_extra={"BENCH_SYSFS_ROOT": str(root)}, columns=200)
    assert res.returncode == 0, res.stderr
    assert "ondemand" in res.stdout and "cpupower frequency-set -g performance" in res.stdout
    assert "no_turbo" in res.stdout and "--threads 3" in res.stdout  # 4 threads (physical cores) on 4 CPUs
    assert "3 of 7 checks warn" in res.stdout
