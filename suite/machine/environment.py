"""Hardware and software fingerprint of the machine a run happens on.

Reads files (/proc, /sys, the device tree) under an injectable root so tests can point it
at fake trees; never imports torch (package versions come from importlib.metadata).
"""

from __future__ import annotations

import os
import platform
import socket
from pathlib import Path

from suite.machine.emulation import detect_emulation
from suite.machine.host import device_model, is_tegra, read_text
from suite.results.schema import Environment
from suite.version import distribution_version

PACKAGES = ("bench-suite", "torch", "torchvision", "transformers", "onnx", "onnxruntime", "onnxruntime-gpu",
            "onnxscript", "executorch", "torchao", "openvino", "codecarbon", "jetson-stats", "numpy", "docker")


def _read(root: Path, rel: str) -> str | None:
    return read_text(root / rel.lstrip("/"))


def cpu_model(root: Path) -> str:
    text = _read(root, "/proc/cpuinfo") or ""
    for key in ("model name", "Hardware", "Model", "cpu model"):
        for line in text.splitlines():
            if line.lower().startswith(key.lower()) and ":" in line:
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def detect_platform(machine: str, root: Path) -> str:
    if machine in ("aarch64", "arm64"):
        return "l4t" if is_tegra(root) else "arm64"
    return "x86"


def in_container(root: Path) -> bool:
    if (root / ".dockerenv").exists() or (root / "run/.containerenv").exists():
        return True
    cgroup = _read(root, "/proc/1/cgroup") or ""
    return any(k in cgroup for k in ("docker", "kubepods", "containerd", "lxc"))


def package_versions() -> dict[str, str]:
    return {name: v for name in PACKAGES if (v := distribution_version(name)) is not None}


def collect_environment(root: str | os.PathLike[str] = "/") -> Environment:
    import psutil

    r = Path(root)
    uname = platform.uname()
    freq = None
    try:
        f = psutil.cpu_freq()
        freq = float(f.max or f.current) if f else None
    except Exception:  # not available in some VMs/containers
        freq = None
    emulated = detect_emulation(uname.machine, r)
    jetson_mode = None
    nvp = _read(r, "/etc/nvpmodel.conf")
    if nvp is not None:
        jetson_mode = _read(r, "/var/lib/nvpmodel/status")
    return Environment(
        # A fleet names each device (BENCH_HOSTNAME) so host-networked containers stay apart.
        hostname=os.environ.get("BENCH_HOSTNAME") or socket.gethostname(),
        os=_os_name(r),
        kernel=uname.release,
        machine=uname.machine,
        cpu_model=cpu_model(r),
        cores_physical=psutil.cpu_count(logical=False),
        cores_logical=psutil.cpu_count(logical=True),
        cpu_max_mhz=freq,
        governor=_read(r, "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"),
        ram_bytes=int(psutil.virtual_memory().total),
        device_model=device_model(r),
        platform=detect_platform(uname.machine, r),
        in_container=in_container(r),
        emulation=emulated.describe() if emulated is not None else None,
        accelerators=_accelerators(r),
        jetson_power_mode=jetson_mode,
        python=platform.python_version(),
        packages=package_versions(),
    )


def _os_name(root: Path) -> str:
    text = _read(root, "/etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return f"{platform.system()} {platform.release()}"


def _accelerators(root: Path) -> list[str]:
    """GPUs seen without importing torch: NVIDIA's procfs, or a Tegra GPU on Jetson."""
    out = []
    gpus = root / "proc/driver/nvidia/gpus"
    if gpus.is_dir():
        for info in sorted(gpus.glob("*/information")):
            for line in info.read_text(errors="replace").splitlines():
                if line.startswith("Model:"):
                    out.append(line.split(":", 1)[1].strip())
    if not out and is_tegra(root):
        out.append("NVIDIA Tegra GPU")
    return out


def default_threads() -> int:
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1
